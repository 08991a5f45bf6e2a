// The supervised side: a process started by the supervisor says when it is ready, gives its
// metrics when asked, asks for the group's when scraped, and stops when its supervisor is gone.
import type { Registry } from "prom-client";
import type { Logger } from "../infra/log";
import type { ChildMessage, SupervisorMessage } from "./messages";

/** A scrape waits this long for the supervisor's answer (which itself waits for each process at most 2 s). */
const SCRAPE_TIMEOUT_MS = 5_000;

class SupervisorUnavailableError extends Error {}

export interface SupervisorLink {
  /** The whole group's metrics, aggregated by the supervisor (Prometheus text format). */
  scrape(): Promise<string>;
  /** Tells the supervisor this process serves; from now on it answers the supervisor's `collect`. */
  ready(registry: Registry): void;
}

export function linkToSupervisor(log: Logger): SupervisorLink {
  const send = process.send?.bind(process);
  if (!send) throw new Error("--supervised: this process was not started by a Kit supervisor (no IPC channel)");
  const post = (message: ChildMessage) => send(message);
  const scrapes = new Map<number, (text: string) => void>();
  let nextId = 1;
  let registry: Registry | undefined;

  process.on("message", (message: SupervisorMessage) => {
    if (message.kind === "scraped") scrapes.get(message.id)?.(message.text);
    else if (message.kind === "collect" && registry) {
      registry.getMetricsAsJSON().then(
        (metrics) => post({ kind: "collected", id: message.id, metrics }),
        (error) => log.warn({ err: error }, "metrics for the supervisor failed"),
      );
    }
  });
  // The supervisor died (kill -9, crash): stop as on SIGTERM rather than serve on unsupervised.
  process.on("disconnect", () => {
    log.warn("supervisor gone: shutting down");
    process.kill(process.pid, "SIGTERM");
  });

  return {
    scrape() {
      const id = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          scrapes.delete(id);
          reject(new SupervisorUnavailableError("the supervisor did not answer with the group's metrics"));
        }, SCRAPE_TIMEOUT_MS);
        scrapes.set(id, (text) => {
          clearTimeout(timer);
          scrapes.delete(id);
          resolve(text);
        });
        post({ kind: "scrape", id });
      });
    },
    ready(own) {
      registry = own;
      post({ kind: "ready" });
    },
  };
}
