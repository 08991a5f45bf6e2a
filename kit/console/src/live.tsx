// Live streams (server-sent events over /rpc), each reconnected with backoff: one stream of queue
// changes (kyc.review.events) for the whole console, which pages subscribe to in order to refresh
// what they show; and `useEventStream` for a page's own stream (a token's operations).
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { rpc, type StatusEvent } from "./api";

export type LiveState = "connecting" | "live" | "reconnecting";

/**
 * Opens `open(signal)` and hands each event to `onEvent` until unmounted or `key` changes; an end
 * by the server (restart, slow reader) or the network reconnects after 0.5 s, doubling to 10 s.
 * `onOpen` runs at each (re)connection: what happened while disconnected was not streamed.
 */
export function useEventStream<E>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<E>>,
  onEvent: (event: E) => void,
  { key = "", enabled = true, onOpen }: { key?: string; enabled?: boolean; onOpen?: () => void } = {},
): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const latest = useRef({ open, onEvent, onOpen });
  latest.current = { open, onEvent, onOpen };

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for what the stream is of
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    setState("connecting");
    (async () => {
      let delay = 500;
      while (!controller.signal.aborted) {
        try {
          const events = await latest.current.open(controller.signal);
          setState("live");
          latest.current.onOpen?.();
          delay = 500;
          for await (const event of events) latest.current.onEvent(event);
        } catch {
          // Ended by the server or the network: reconnect below.
        }
        if (controller.signal.aborted) return;
        setState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    })();
    return () => controller.abort();
  }, [key, enabled]);

  return state;
}

interface Live {
  /** Undefined when the signed-in user has no queue to follow (an issuer who does not review KYC). */
  state: LiveState | undefined;
  subscribe(listener: (event: StatusEvent) => void): () => void;
}

const LiveContext = createContext<Live>({ state: undefined, subscribe: () => () => {} });

/** The queue's stream, opened only when `enabled` (the caller may review KYC): it is refused otherwise. */
export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const listeners = useRef(new Set<(event: StatusEvent) => void>());
  const state = useEventStream(
    (signal) => rpc.kyc.review.events(undefined, { signal }),
    (event) => {
      for (const listener of listeners.current) listener(event);
    },
    { enabled },
  );

  const subscribe = useCallback((listener: (event: StatusEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const live = useMemo(() => ({ state: enabled ? state : undefined, subscribe }), [enabled, state, subscribe]);
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
