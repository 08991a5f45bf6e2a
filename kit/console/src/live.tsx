// One stream of queue changes (kyc.review.events, server-sent events over /rpc) for the whole
// console, reconnected with backoff; pages subscribe to it to refresh what they show.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { rpc, type StatusEvent } from "./api";

export type LiveState = "connecting" | "live" | "reconnecting";

interface Live {
  state: LiveState;
  subscribe(listener: (event: StatusEvent) => void): () => void;
}

const LiveContext = createContext<Live>({ state: "connecting", subscribe: () => () => {} });

export function LiveProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<LiveState>("connecting");
  const listeners = useRef(new Set<(event: StatusEvent) => void>());

  useEffect(() => {
    const controller = new AbortController();
    (async () => {
      let delay = 500;
      while (!controller.signal.aborted) {
        try {
          const events = await rpc.kyc.review.events(undefined, { signal: controller.signal });
          setState("live");
          delay = 500;
          for await (const event of events) {
            for (const listener of listeners.current) listener(event);
          }
        } catch {
          // Ended by the server (process restart, slow reader) or the network: reconnect below.
        }
        if (controller.signal.aborted) return;
        setState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    })();
    return () => controller.abort();
  }, []);

  const subscribe = useCallback((listener: (event: StatusEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const live = useMemo(() => ({ state, subscribe }), [state, subscribe]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  return useContext(LiveContext);
}

/** Calls `listener` for every queue change while the component is mounted. */
export function useLiveEvents(listener: (event: StatusEvent) => void): void {
  const { subscribe } = useLive();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => subscribe((event) => latest.current(event)), [subscribe]);
}
