// Where a live stream stands, in words; announced politely when it changes (role="status").
import type { LiveState } from "../live";

export function LiveStatus({ state, title, className }: { state: LiveState; title: string; className?: string }) {
  return (
    <span className={`live live-${state}${className ? ` ${className}` : ""}`} role="status" title={title}>
      {state === "live" ? "● Live" : state === "connecting" ? "Connecting…" : "Reconnecting…"}
    </span>
  );
}
