// What the application page says at its top (an action's outcome, or a change made elsewhere), and
// the one way its parts act on the application: say the outcome there, then read it again.
import { useState } from "react";
import { describeError } from "../../api";

export type Notice = { kind: "success" | "error" | "info"; text: string };

/** What a part of the page is given to act on the application. */
export interface PageActions {
  setNotice(notice: Notice | undefined): void;
  reload(): Promise<void>;
}

export function NoticeLine({ notice }: { notice: Notice | undefined }) {
  if (!notice) return null;
  return (
    <p role={notice.kind === "error" ? "alert" : "status"} className={`notice notice-${notice.kind}`}>
      {notice.text}
    </p>
  );
}

/**
 * One action at a time: busy while it runs; `done` (or why Kit refused) in the page's notice; then
 * the application read again, after a refusal too unless `reloadAfterRefusal` says it still stands.
 */
export function useApplicationAction({ setNotice, reload }: PageActions) {
  const [busy, setBusy] = useState(false);
  const run = async (
    action: () => Promise<unknown>,
    done: string | ((result: unknown) => string),
    options: { onSuccess?: () => void; reloadAfterRefusal?: (error: unknown) => boolean } = {},
  ) => {
    setBusy(true);
    setNotice(undefined);
    try {
      const result = await action();
      setNotice({ kind: "success", text: typeof done === "string" ? done : done(result) });
      options.onSuccess?.();
    } catch (error) {
      setNotice({ kind: "error", text: describeError(error) });
      if (options.reloadAfterRefusal?.(error) === false) {
        setBusy(false);
        return;
      }
    }
    await reload();
    setBusy(false);
  };
  return { busy, run };
}
