// A local EVM node: anvil from the @foundry-rs/anvil npm package, run as a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface LocalAnvil {
  rpcUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** The platform binary itself, not the package's node wrapper, so that a kill reaches anvil. */
export function anvilBinary(): string {
  const wrapper = createRequire(import.meta.url).resolve("@foundry-rs/anvil/package.json");
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platformPackage = createRequire(wrapper).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return join(dirname(platformPackage), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

export async function startLocalAnvil(options: {
  port: number;
  /** Keep the chain across restarts in this file (loaded at start, dumped every 30 s and at exit). */
  stateFile?: string;
  chainId?: number;
}): Promise<LocalAnvil> {
  const args = ["--host", "127.0.0.1", "--port", String(options.port), "--chain-id", String(options.chainId ?? 31337)];
  if (options.stateFile) args.push("--state", options.stateFile, "--state-interval", "30");
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    if (output.length < 8_192) output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const rpcUrl = `http://127.0.0.1:${options.port}`;
  try {
    await waitForRpc(rpcUrl, child, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  child.stdout?.off("data", collect);
  child.stdout?.resume();
  child.stderr?.resume();
  return { rpcUrl, port: options.port, stop: () => stopChild(child) };
}

async function waitForRpc(rpcUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`anvil exited with code ${child.exitCode}: ${output().trim().split("\n").slice(-3).join(" | ")}`);
    }
    try {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`anvil did not answer at ${rpcUrl} within 15 s`);
}

/** SIGTERM lets anvil dump its state; SIGKILL after 5 s if it hangs. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
