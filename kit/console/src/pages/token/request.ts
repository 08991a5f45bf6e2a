// Requesting one operation from a form or a button: busy while Kit records it, then the operation
// it created (its progress follows live) or why Kit refused it, in words.
import { useRef, useState } from "react";
import { describeError, type OperationView } from "../../api";
import { useOperationsLive } from "./live";

function newIdempotencyKey(): string {
  // getRandomValues, not randomUUID: the latter exists only on https (and localhost) pages.
  return `console-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export type SendOperation = (idempotencyKey: string) => Promise<{ operation: OperationView }>;

/**
 * `request(send)` asks Kit for the operation with an idempotency key. The key is kept after an
 * answer that never came (the network failed): trying again with the same values then answers the
 * operation Kit may already have recorded instead of a second one. Any answer starts a new key.
 */
export function useOperationRequest(fieldLabel?: (path: string) => string) {
  const live = useOperationsLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<OperationView>();
  const key = useRef(newIdempotencyKey());

  /** True when Kit recorded the operation. */
  const request = async (send: SendOperation): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      const { operation } = await send(key.current);
      key.current = newIdempotencyKey();
      live.track(operation);
      setCreated(operation);
      return true;
    } catch (caught) {
      if (!(caught instanceof TypeError)) key.current = newIdempotencyKey();
      setError(describeError(caught, fieldLabel));
      return false;
    } finally {
      setBusy(false);
    }
  };

  return { busy, error, setError, created, request };
}
