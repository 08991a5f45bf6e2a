// The review queue: filters kept in the address (a reload or a shared link shows the same list),
// cursor paging both ways, and live refresh when anything in the queue changes.
import { type FormEvent, useEffect, useRef, useState } from "react";
import { type KycStatus, type Me, type QueueItem, rpc } from "../api";
import { Alert } from "../components/Alert";
import { StatusBadge } from "../components/Badge";
import { DataTable } from "../components/DataTable";
import { Options } from "../components/Options";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { countryName, formatTime, fullName, STATUS_LABELS } from "../format";
import { useLoad } from "../hooks";
import { useLiveEvents } from "../live";
import { Link, navigate, useLocation } from "../router";

const PAGE_SIZE = 25;
const FILTER_STATUSES = Object.keys(STATUS_LABELS).filter((s) => s !== "draft") as Exclude<KycStatus, "draft">[];

export function QueuePage({ me }: { me: Me }) {
  const { search } = useLocation();
  const status = (search.get("status") ?? "") as Exclude<KycStatus, "draft"> | "";
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
        country: country || undefined,
        assignedToMe: mine || undefined,
        q: q.length >= 3 ? q : undefined,
        cursor,
        limit: PAGE_SIZE,
      }),
    [filterKey, cursor],
  );

  // Counts of the open work: three bounded reads (at most 100 rows each; more shows as "100+").
  const counts = useLoad(async () => {
    const count = (page: { items: unknown[]; nextCursor: string | null }) =>
      `${page.items.length}${page.nextCursor ? "+" : ""}`;
    const [submitted, inReview, mineInReview] = await Promise.all([
      rpc.kyc.review.queue({ status: "submitted", limit: 100 }),
      rpc.kyc.review.queue({ status: "in_review", limit: 100 }),
      rpc.kyc.review.queue({ status: "in_review", assignedToMe: true, limit: 100 }),
    ]);
    return { submitted: count(submitted), inReview: count(inReview), mine: count(mineInReview) };
  }, []);

  // Rows that appeared since the last load (live), marked for a moment.
  const seen = useRef<Set<string> | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [announcement, setAnnouncement] = useState("");
  useEffect(() => {
    const items = queue.data?.items;
    if (!items) return;
    const before = seen.current;
    seen.current = new Set(items.map((i) => i.id));
    if (before) setFresh(new Set(items.filter((i) => !before.has(i.id)).map((i) => i.id)));
  }, [queue.data]);

  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useLiveEvents((event) => {
    const who = event.reviewerId === me.user.id ? "you" : "another reviewer";
    const what =
      event.status === "submitted"
        ? "a new application was submitted"
        : event.status === "in_review"
          ? `an application was claimed by ${who}`
          : `an application was ${STATUS_LABELS[event.status].toLowerCase()} by ${who}`;
    setAnnouncement(`Queue updated: ${what} (${formatTime(event.at)}).`);
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => {
      void queue.reload();
      void counts.reload();
    }, 150);
  });
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  const setFilter = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    const query = next.toString();
    navigate(query ? `/?${query}` : "/", { replace: true });
  };

  const [searchError, setSearchError] = useState<string>();
  const applyText = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get("q") ?? "").trim();
    const code = String(form.get("country") ?? "")
      .trim()
      .toUpperCase();
    if (name.length > 0 && name.length < 3) return setSearchError("Type at least 3 letters of the name.");
    if (code && !/^[A-Z]{2}$/.test(code)) return setSearchError("Use a two-letter country code such as FR.");
    setSearchError(undefined);
    setFilter({ q: name, country: code });
  };

  const items = queue.data?.items ?? [];

  return (
    <Page heading="KYC queue" headingId="queue-title">
      {counts.data && (
        <p className="counts">
          Waiting for review: <strong>{counts.data.submitted}</strong> submitted ·{" "}
          <strong>{counts.data.inReview}</strong> in review ({counts.data.mine} yours)
        </p>
      )}
      <form className="filters" onSubmit={applyText} aria-label="Filter the queue">
        <label>
          Status
          <select value={status} onChange={(e) => setFilter({ status: e.target.value })}>
            <option value="">Open work (submitted and in review)</option>
            <Options values={FILTER_STATUSES} label={(s) => STATUS_LABELS[s]} />
          </select>
        </label>
        <label>
          Country of residence
          <input name="country" defaultValue={country} key={`c${country}`} maxLength={2} placeholder="FR" size={4} />
        </label>
        <label>
          Name
          <input name="q" type="search" defaultValue={q} key={`q${q}`} placeholder="at least 3 letters" />
        </label>
        <button type="submit">Search</button>
        <label className="inline">
          <input type="checkbox" checked={mine} onChange={(e) => setFilter({ mine: e.target.checked ? "1" : "" })} />
          Assigned to me
        </label>
        {(status || country || q || mine) && (
          <button type="button" className="link" onClick={() => navigate("/", { replace: true })}>
            Clear filters
          </button>
        )}
      </form>
      <Alert>{searchError}</Alert>
      <p className="announcement" aria-live="polite">
        {announcement}
      </p>
      <Alert>{queue.error}</Alert>
      <DataTable
        className="queue"
        caption="Applications, oldest submission first"
        columns={["Applicant", "Country", "Status", "Submitted", "Reviewer"]}
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
      <td>{formatTime(item.submittedAt)}</td>
      <td>{item.reviewerId ? (item.reviewerId === me.user.id ? "You" : "Another reviewer") : "—"}</td>
    </tr>
  );
}
