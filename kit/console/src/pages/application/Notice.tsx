// What the application page says at its top: an action's outcome, or a change made elsewhere.

export type Notice = { kind: "success" | "error" | "info"; text: string };

export function NoticeLine({ notice }: { notice: Notice | undefined }) {
  if (!notice) return null;
  return (
    <p role={notice.kind === "error" ? "alert" : "status"} className={`notice notice-${notice.kind}`}>
      {notice.text}
    </p>
  );
}
