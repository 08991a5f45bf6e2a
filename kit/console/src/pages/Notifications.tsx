// My notifications (the in-app inbox): newest first, unread ones marked, each marked read on its
// own or all at once. The header shows the unread count live (notifications.events); a new
// notification reloads the first page.
import { useState } from "react";
import { type NotificationView, rpc } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime, OPERATION_KIND_LABELS } from "../format";
import { useLoad } from "../hooks";
import { type LiveState, useEventStream } from "../live";
import { Link } from "../router";

const PAGE_SIZE = 25;

export interface Inbox {
  unread: number | undefined;
  /** Goes up with each change the stream reports: pages reload on it. */
  changes: number;
  state: LiveState;
}

/** The signed-in user's unread count, live; one stream for the whole console. */
export function useInbox(): Inbox {
  const [inbox, setInbox] = useState<{ unread: number | undefined; changes: number }>({
    unread: undefined,
    changes: 0,
  });
  const state = useEventStream(
    (signal) => rpc.notifications.events(undefined, { signal }),
    (event) => setInbox((old) => ({ unread: event.unread, changes: old.changes + 1 })),
  );
  return { ...inbox, state };
}

const kindWords = (kind: unknown) =>
  (OPERATION_KIND_LABELS as Record<string, string>)[String(kind)]?.toLowerCase() ?? String(kind);

/** What happened, in a sentence, with a link where the console has a page for it. */
function Summary({ notification }: { notification: NotificationView }) {
  const data = notification.data as Record<string, unknown>;
  const token = typeof data.token === "string" ? data.token : undefined;
  const symbol = String(data.tokenSymbol || token || "");
  const onToken = token ? <Link to={`/tokens/${token}`}>{symbol}</Link> : symbol;
  switch (notification.type) {
    case "kyc.queue_digest":
      return (
        <>
          <Link to="/">{String(data.waiting)} KYC applications</Link> wait in the queue
          {data.oldestSubmittedAt ? `, the oldest since ${formatTime(String(data.oldestSubmittedAt))}` : ""}.
        </>
      );
    case "token_operation.awaiting_approval":
      return (
        <>
          A {kindWords(data.kind)} of {onToken} <Link to="/approvals">waits for your approval</Link>.
        </>
      );
    case "token_operation.confirmed":
      return (
        <>
          Your {kindWords(data.kind)} of {onToken} was confirmed on chain.
        </>
      );
    case "token_operation.failed":
      return (
        <>
          Your {kindWords(data.kind)} of {onToken} failed: {String(data.reason)}
        </>
      );
    case "exchange_rates.stale":
      return (
        <>
          <Link to="/rates">Exchange rates are stale</Link> since {formatTime(String(data.since))} (
          {(data.pairs as string[]).slice(0, 5).join(", ")}
          {(data.pairs as string[]).length > 5 ? ", …" : ""}).
        </>
      );
    default:
      return <>{SENTENCES[notification.type] ?? notification.type}</>;
  }
}

const SENTENCES: Partial<Record<NotificationView["type"], string>> = {
  "kyc.submitted": "Your KYC application was submitted.",
  "kyc.changes_requested": "A reviewer asked for changes to your KYC application.",
  "kyc.approved": "Your KYC application was approved.",
  "kyc.rejected": "Your KYC application was rejected.",
  "kyc.revoked": "Your KYC approval was revoked.",
  "kyc.approval_expiring": "Your KYC approval expires soon.",
  "wallet.eligible": "Your wallet may now hold Kit's tokens.",
  "wallet.eligibility_failed": "Your wallet could not be registered on chain.",
  "webhook.endpoint_disabled": "One of your webhook endpoints was disabled after a day of failures.",
};

export function NotificationsPage({ inbox }: { inbox: Inbox }) {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const paging = useCursorPaging(PAGE_SIZE, String(unreadOnly));
  const { cursor } = paging;
  const list = useLoad(
    () => rpc.notifications.list({ cursor, limit: PAGE_SIZE, ...(unreadOnly ? { unread: true } : {}) }),
    // The first page follows the stream; later pages stay put while they are read.
    [cursor, unreadOnly, cursor ? 0 : inbox.changes],
  );
  const { busy, outcome, run } = useAction(list.reload);

  const markAll = () =>
    run(async () => {
      const { marked } = await rpc.notifications.markAllRead();
      return marked === 0 ? "Nothing was unread." : `Marked ${marked} read.`;
    });
  const markOne = (notification: NotificationView) =>
    run(async () => {
      await rpc.notifications.markRead({ id: notification.id });
      return "Marked read.";
    });

  return (
    <Page heading="Notifications" headingId="notifications-title">
      <p className="muted" aria-live="polite">
        {inbox.unread === undefined ? "Counting unread…" : `${inbox.unread} unread`}
      </p>
      <div className="filters">
        <label className="inline">
          <input type="checkbox" checked={unreadOnly} onChange={(event) => setUnreadOnly(event.target.checked)} />{" "}
          Unread only
        </label>
        <button type="button" onClick={() => void markAll()} disabled={busy || inbox.unread === 0}>
          Mark all read
        </button>
      </div>
      <Outcome outcome={outcome} />
      <Alert>{list.error}</Alert>
      <DataTable
        className="notifications"
        columns={["When", "What", "Read"]}
        busy={list.loading}
        empty={list.data?.items.length === 0 && (unreadOnly ? "Nothing unread." : "No notifications yet.")}
      >
        {list.data?.items.map((notification) => (
          <tr key={notification.id} className={notification.readAt ? "read" : "unread"}>
            <td>{formatTime(notification.occurredAt)}</td>
            <td>
              {notification.readAt ? null : <span className="visually-hidden">Unread: </span>}
              <Summary notification={notification} />
            </td>
            <td>
              {notification.readAt ? (
                <span className="muted">Read</span>
              ) : (
                <button type="button" onClick={() => void markOne(notification)} disabled={busy}>
                  Mark read
                </button>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      <Pager paging={paging} page={list.data} noun="Notifications" none="None" />
    </Page>
  );
}
