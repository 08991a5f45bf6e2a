// The review queue: filters kept in the address (a reload or a shared link shows the same list),
// cursor paging both ways, and live refresh when anything in the queue changes.
import { type KycStatus, type Me, type QueueItem, type RiskLevel, rpc } from "../api";
import { Alert } from "../components/Alert";
import { StatusBadge } from "../components/Badge";
import { DataTable } from "../components/DataTable";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { countryName, formatTime, fullName, RISK_LABELS } from "../format";
import { useLoad } from "../hooks";
import { Link, useLocation } from "../router";
import { QueueFilters } from "./queue/Filters";
import { useFreshRows, useQueueAnnouncements, useQueueCounts } from "./queue/hooks";

const PAGE_SIZE = 25;

export function QueuePage({ me }: { me: Me }) {
  const { search } = useLocation();
  const status = (search.get("status") ?? "") as Exclude<KycStatus, "draft"> | "";
  const risk = (search.get("risk") ?? "") as RiskLevel | "";
  const country = search.get("country") ?? "";
  const mine = search.get("mine") === "1";
  const q = search.get("q") ?? "";
  const filterKey = search.toString();

  // New filters start again at the first page.
  const paging = useCursorPaging(PAGE_SIZE, filterKey);
  const { cursor } = paging;

  const queue = useLoad(
    () =>
      rpc.kyc.review.queue({
        status: status || undefined,
        risk: risk || undefined,
        country: country || undefined,
        assignedToMe: mine || undefined,
        q: q.length >= 3 ? q : undefined,
        cursor,
        limit: PAGE_SIZE,
      }),
    [filterKey, cursor],
  );

  const counts = useQueueCounts();

  const fresh = useFreshRows(queue.data?.items);
  const announcement = useQueueAnnouncements(me, () => {
    void queue.reload();
    void counts.reload();
  });

  const items = queue.data?.items ?? [];

  return (
    <Page heading="KYC queue" headingId="queue-title">
      {counts.data && (
        <p className="counts">
          Waiting for review: <strong>{counts.data.submitted}</strong> submitted ·{" "}
          <strong>{counts.data.inReview}</strong> in review ({counts.data.mine} yours)
        </p>
      )}
      <QueueFilters status={status} risk={risk} country={country} mine={mine} q={q} />
      <p className="announcement" aria-live="polite">
        {announcement}
      </p>
      <Alert>{queue.error}</Alert>
      <DataTable
        className="queue"
        caption="Applications, oldest submission first"
        columns={["Applicant", "Country", "Status", "Risk", "Submitted", "Reviewer"]}
        busy={queue.loading}
        empty={items.length === 0 && !queue.loading && "No application matches these filters."}
      >
        {items.map((item) => (
          <Row key={item.id} item={item} me={me} fresh={fresh.has(item.id)} />
        ))}
      </DataTable>
      <Pager paging={paging} page={queue.data} none="No results" />
    </Page>
  );
}

function Row({ item, me, fresh }: { item: QueueItem; me: Me; fresh: boolean }) {
  return (
    <tr className={fresh ? "fresh" : undefined}>
      <td>
        <Link to={`/applications/${item.id}`}>{fullName(item)}</Link>
      </td>
      <td>{countryName(item.countryOfResidence)}</td>
      <td>
        <StatusBadge status={item.status} />
      </td>
      <td>{item.riskLevel ? RISK_LABELS[item.riskLevel] : "—"}</td>
      <td>{formatTime(item.submittedAt)}</td>
      <td>{item.reviewerId ? (item.reviewerId === me.user.id ? "You" : "Another reviewer") : "—"}</td>
    </tr>
  );
}
