// A token's operations as they change (tokens.operations.events), for every part of its page: the
// newest state known of each operation, a way to hear each change, and how many times the stream
// (re)connected — what changed while it was down was not streamed, so parts read again then.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { type OperationStatus, type OperationView, rpc } from "../../api";
import { type LiveState, useEventStream } from "../../live";

const FINAL: readonly OperationStatus[] = ["confirmed", "failed", "rejected"];

interface OperationsLive {
  state: LiveState;
  /** Counts the stream's (re)connections: a change of it means "read again". */
  connections: number;
  /** The newest state known of `operation`: the stream's, when it has said more than `operation`. */
  latest(operation: OperationView): OperationView;
  /** Calls `listener` with each operation streamed, until the returned function is called. */
  subscribe(listener: (operation: OperationView) => void): () => void;
  /** Keeps `operation` (just requested) among those read again after a reconnection. */
  track(operation: OperationView): void;
}

const Context = createContext<OperationsLive | undefined>(undefined);

/** The later of two states of one operation (by `updatedAt`; the incoming one on a tie). */
function newer(known: OperationView | undefined, incoming: OperationView): OperationView {
  return known && known.updatedAt > incoming.updatedAt ? known : incoming;
}

export function OperationsLiveProvider({ address, children }: { address: string; children: ReactNode }) {
  const [known, setKnown] = useState<ReadonlyMap<string, OperationView>>(new Map());
  const [connections, setConnections] = useState(0);
  const listeners = useRef(new Set<(operation: OperationView) => void>());
  const knownRef = useRef(known);
  knownRef.current = known;

  const remember = useCallback((operation: OperationView) => {
    setKnown((previous) => new Map(previous).set(operation.id, newer(previous.get(operation.id), operation)));
  }, []);

  const state = useEventStream(
    (signal) => rpc.tokens.operations.events({ address }, { signal }),
    (operation) => {
      remember(operation);
      for (const listener of listeners.current) listener(operation);
    },
    {
      key: address,
      onOpen: () => {
        setConnections((n) => n + 1);
        // Operations still under way when the stream was down: read each once (a page's few).
        for (const operation of knownRef.current.values()) {
          if (FINAL.includes(operation.status)) continue;
          rpc.tokens.operations.get({ id: operation.id }).then(
            ({ history: _, ...now }) => {
              remember(now);
              for (const listener of listeners.current) listener(now);
            },
            () => {},
          );
        }
      },
    },
  );

  const subscribe = useCallback((listener: (operation: OperationView) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const latest = useCallback(
    (operation: OperationView) => {
      const streamed = known.get(operation.id);
      return streamed ? newer(operation, streamed) : operation;
    },
    [known],
  );
  const value = useMemo(
    () => ({ state, connections, latest, subscribe, track: remember }),
    [state, connections, latest, subscribe, remember],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useOperationsLive(): OperationsLive {
  const live = useContext(Context);
  if (!live) throw new Error("useOperationsLive outside an OperationsLiveProvider");
  return live;
}

/** Calls `listener` for each streamed change of the token's operations while mounted. */
export function useOperationEvents(listener: (operation: OperationView) => void): void {
  const { subscribe } = useOperationsLive();
  const current = useRef(listener);
  current.current = listener;
  useEffect(() => subscribe((operation) => current.current(operation)), [subscribe]);
}
