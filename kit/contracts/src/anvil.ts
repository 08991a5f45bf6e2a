// anvil from @foundry-rs/anvil, run as a child process on a port of its own choosing.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface Anvil {
  rpcUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  /** 0 (default): anvil picks a free port and says which. */
  port?: number;
  chainId?: number;
  /** A file written by `--dump-state` / `anvil_dumpState`: the chain starts from it. */
  loadState?: string;
  /**
   * Its own process group: a terminal's Ctrl-C then reaches only the parent, which stops anvil
   * after what reads the chain has stopped (instead of both at once, the readers failing first).
   */
  ownProcessGroup?: boolean;
  /** More anvil flags, e.g. `["--disable-block-gas-limit"]` for bulk loads. */
  args?: string[];
}

/** The platform binary itself, not the package's node wrapper, so that a kill reaches anvil. */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const wrapper = require.resolve("@foundry-rs/anvil/package.json");
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platformPackage = createRequire(wrapper).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return join(dirname(platformPackage), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--chain-id",
    String(options.chainId ?? 31337),
  ];
  if (options.loadState) args.push("--load-state", options.loadState);
  args.push(...(options.args ?? []));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup });
  let port: number;
  try {
    port = await listeningPort(child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  // Keep draining its output so that a chatty anvil never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return { rpcUrl: `http://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

/** anvil prints "Listening on 127.0.0.1:<port>" once its RPC server accepts connections. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => done(new Error("anvil did not start listening within 15 s")), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on [\d.]+:(\d+)/.exec(output);
      if (match) done(undefined, Number(match[1]));
      else if (output.length > 65_536) output = output.slice(-4_096);
    };
    const onExit = (code: number | null) =>
      done(new Error(`anvil exited with code ${code}: ${output.trim().split("\n").slice(-3).join(" | ")}`));
    function done(error?: Error, port?: number) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(port as number);
    }
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** SIGTERM lets anvil dump its state if asked to; SIGKILL after 5 s if it hangs. */
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
