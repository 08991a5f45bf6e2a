// The audit trail (admin): staff and security actions, newest first, filtered by action, actor or
// subject and paged by cursor. Each row shows who acted, on what, and what changed; its hash links
// it to the row before (`bun run kit audit:verify` checks the chain).
import { type FormEvent, useState } from "react";
import { type AuditEvent, rpc } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

const PAGE_SIZE = 50;

/** Every action the trail records, in words (a missing one fails to compile). */
const ACTION_LABELS: Record<AuditEvent["action"], string> = {
  "user.role_changed": "Role changed",
  "user.banned": "User banned",
  "user.unbanned": "Ban lifted",
  "user.sessions_revoked": "Sessions ended",
  "api_key.created": "API key created",
  "api_key.revoked": "API key revoked",
  "system_settings.changed": "System settings changed",
  "notification_settings.changed": "Notification switches changed",
  "exchange_rate.set_manually": "Manual exchange rate",
  "token.grant_added": "Token grant added",
  "token.grant_removed": "Token grant removed",
  "token_policy.change_requested": "Four-eyes policy change asked",
  "token_policy.change_decided": "Four-eyes policy change decided",
  "token_operation.decided": "Token operation approved or refused",
  "kyc.freeze_lifted": "Freeze lifted",
  "kyc.rejection_block_lifted": "Final rejection lifted",
  "kyc.encryption_key_rotated": "KYC key rotated",
  "job.retried": "Job retried",
  "kyc.dossier_exported": "KYC dossier exported",
  "kyc.application_erased": "KYC application erased",
  "kyc.erasure_requested": "Erasure requested",
  "kyc.erasure_decided": "Erasure request decided",
  "auth.sign_in_failures": "Failed sign-ins (hourly summary)",
};

interface Filters {
  action?: AuditEvent["action"];
  actorId?: string;
  subjectType?: string;
  subjectId?: string;
}

export function AuditPage() {
  const [filters, setFilters] = useState<Filters>({});
  const paging = useCursorPaging(PAGE_SIZE);
  const { cursor } = paging;
  const events = useLoad(
    () => rpc.audit.list({ ...filters, cursor, limit: PAGE_SIZE }),
    [JSON.stringify(filters), cursor],
  );

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? "").trim() || undefined;
    setFilters({
      action: value("action") as AuditEvent["action"] | undefined,
      actorId: value("actorId"),
      subjectType: value("subjectType"),
      subjectId: value("subjectId"),
    });
    paging.restart();
  };

  return (
    <Page heading="Audit trail" headingId="audit-title" tabTitle="Audit">
      <p className="muted">
        Staff and security actions, newest first. Rows are append-only and chained by hash; run{" "}
        <code>bun run kit audit:verify</code> to check that none was changed or removed.
      </p>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit trail">
        <label>
          Action
          <select name="action" defaultValue={filters.action ?? ""}>
            <option value="">Any action</option>
            {Object.entries(ACTION_LABELS).map(([action, label]) => (
              <option key={action} value={action}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Actor (user id)
          <input name="actorId" defaultValue={filters.actorId} />
        </label>
        <label>
          Subject type
          <input name="subjectType" placeholder="user, token, …" defaultValue={filters.subjectType} />
        </label>
        <label>
          Subject id
          <input name="subjectId" defaultValue={filters.subjectId} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Alert>{events.error}</Alert>
      <DataTable
        className="audit"
        columns={["When", "Action", "Actor", "Subject", "Change", "Request"]}
        busy={events.loading}
        empty={events.data?.items.length === 0 && "No audit event matches."}
      >
        {events.data?.items.map((event) => (
          <tr key={event.id}>
            <td>{formatTime(event.at)}</td>
            <td>{ACTION_LABELS[event.action]}</td>
            <td>{event.actorId ? `${event.actorKind === "api_key" ? "API key of " : ""}${event.actorId}` : "Kit"}</td>
            <td>
              {event.subject.type} <code>{event.subject.id}</code>
            </td>
            <td>
              <Change before={event.before} after={event.after} />
            </td>
            <td className="muted">
              {event.ipAddress ?? "—"}
              <br />
              <code title={`hash ${event.hash}`}>{event.requestId ?? ""}</code>
            </td>
          </tr>
        ))}
      </DataTable>
      <Pager paging={paging} page={events.data} noun="Events" none="No events" />
    </Page>
  );
}

function Change({ before, after }: Pick<AuditEvent, "before" | "after">) {
  const text = (value: Record<string, unknown> | null) => (value ? JSON.stringify(value) : "—");
  return (
    <>
      {before && <div className="muted">before: {text(before)}</div>}
      <div>{after ? `after: ${text(after)}` : ""}</div>
    </>
  );
}
