// Local ports for the services the dev stack, tests and benches start.
import { createServer } from "node:net";

/**
 * An address that refuses at once, and stays so: no test or service here listens on port 1. A
 * "free" port from freePort() will not do for a dead address: the OS may hand it to the next
 * process that binds port 0 (another test file's anvil, SMTP or Redis), which would then answer.
 */
export const CLOSED_PORT = 1;

/** A port the OS says is free right now on 127.0.0.1 (another process may still take it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}
