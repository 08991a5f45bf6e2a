import type { Logger } from "./infra/log";

/**
 * A signal this soon after the first is the same Ctrl-C delivered again: `bun run` forwards the
 * terminal's SIGINT to the child that already received it from the process group, so a nested
 * `bun run dev` sees every Ctrl-C twice within a few milliseconds.
 */
const ECHO_WINDOW_MS = 500;

/**
 * SIGINT/SIGTERM: run `stop` once (finish in-flight work, close pools, stop child services); a
 * stop that overruns `timeoutMs`, or a second signal (not an echo of the first), exits at once.
 */
export function handleShutdownSignals(log: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (performance.now() - firstSignalAt < ECHO_WINDOW_MS) return;
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    firstSignalAt = performance.now();
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, "shutdown timed out: exiting");
      process.exit(1);
    }, timeoutMs);
    stop().then(
      () => {
        clearTimeout(timer);
        log.info("stopped");
        process.exit(0);
      },
      (error) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
