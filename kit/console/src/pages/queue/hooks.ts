// The queue page's live parts: the counts of open work, the rows new since the last load, and what
// a change elsewhere announces (then the list and counts read again).
import { useEffect, useRef, useState } from "react";
import { type Me, type QueueItem, rpc } from "../../api";
import { formatTime, STATUS_LABELS } from "../../format";
import { useLoad } from "../../hooks";
import { useLiveEvents } from "../../live";

/** Counts of the open work: three bounded reads (at most 100 rows each; more shows as "100+"). */
export function useQueueCounts() {
  return useLoad(async () => {
    const count = (page: { items: unknown[]; nextCursor: string | null }) =>
      `${page.items.length}${page.nextCursor ? "+" : ""}`;
    const [submitted, inReview, mineInReview] = await Promise.all([
      rpc.kyc.review.queue({ status: "submitted", limit: 100 }),
      rpc.kyc.review.queue({ status: "in_review", limit: 100 }),
      rpc.kyc.review.queue({ status: "in_review", assignedToMe: true, limit: 100 }),
    ]);
    return { submitted: count(submitted), inReview: count(inReview), mine: count(mineInReview) };
  }, []);
}

/** Rows that appeared since the last load (live), marked for a moment. */
export function useFreshRows(items: QueueItem[] | undefined): Set<string> {
  const seen = useRef<Set<string> | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  useEffect(() => {
    if (!items) return;
    const before = seen.current;
    seen.current = new Set(items.map((i) => i.id));
    if (before) setFresh(new Set(items.filter((i) => !before.has(i.id)).map((i) => i.id)));
  }, [items]);
  return fresh;
}

/** Says what changed in the queue elsewhere, then reads the list and the counts again (once per burst). */
export function useQueueAnnouncements(me: Me, reload: () => void): string {
  const [announcement, setAnnouncement] = useState("");
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useLiveEvents((event) => {
    const who = event.reviewerId === me.user.id ? "you" : "another reviewer";
    const what =
      event.status === "submitted"
        ? "a new application was submitted"
        : event.status === "in_review"
          ? `an application was claimed by ${who}`
          : event.status === "approval_pending"
            ? "an application was approved once and awaits a second reviewer"
            : `an application was ${STATUS_LABELS[event.status].toLowerCase()} by ${who}`;
    setAnnouncement(`Queue updated: ${what} (${formatTime(event.at)}).`);
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(reload, 150);
  });
  useEffect(() => () => clearTimeout(reloadTimer.current), []);
  return announcement;
}
