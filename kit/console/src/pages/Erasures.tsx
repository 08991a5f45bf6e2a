// Erasure requests (admins, `kyc: erase`): users asking for their KYC data to be erased, oldest
// first. Approving erases every application of the user where no retention duty forbids it (Kit
// answers the earliest date otherwise); refusing needs a reason, which the user reads.
import { type FormEvent, useState } from "react";
import { type Me, rpc } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { readDecision } from "../components/decision";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

const PAGE_SIZE = 50;
const STATUSES = ["open", "approved", "refused", "withdrawn"] as const;
type Status = (typeof STATUSES)[number];
type ErasureRequest = Awaited<ReturnType<typeof rpc.kyc.erasureRequests.list>>["items"][number];

export function ErasuresPage({ me }: { me: Me }) {
  const [status, setStatus] = useState<Status>("open");
  const paging = useCursorPaging(PAGE_SIZE, status);
  const { cursor } = paging;
  const requests = useLoad(() => rpc.kyc.erasureRequests.list({ status, cursor, limit: PAGE_SIZE }), [status, cursor]);
  const { busy, outcome, setOutcome, run } = useAction(requests.reload);

  const decide = (event: FormEvent<HTMLFormElement>, request: ErasureRequest) => {
    const { decision, reason } = readDecision(event);
    if (decision === "reject") {
      if (!reason) return setOutcome({ error: true, text: "A reason is required to refuse; the user reads it." });
      void run(async () => {
        await rpc.kyc.erasureRequests.refuse({ requestId: request.id, reason });
        return "Refused the erasure request.";
      });
      return;
    }
    void run(async () => {
      const approved = await rpc.kyc.erasureRequests.approve({ requestId: request.id });
      const count = approved.erasedApplications?.length ?? 0;
      return `Approved: ${count} application${count === 1 ? "" : "s"} erased.`;
    });
  };

  return (
    <Page heading="Erasure requests" headingId="erasures-title" tabTitle="Erasures">
      <p className="muted">
        Users asking for their KYC data to be erased. Approving erases every application of theirs, unless the retention
        policy still requires keeping them; the pseudonymous history stays.
      </p>
      <label>
        Status{" "}
        <select value={status} onChange={(event) => setStatus(event.target.value as Status)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <Outcome outcome={outcome} />
      <Alert>{requests.error}</Alert>
      <DataTable
        className="erasures"
        columns={["Asked", "User", "Erasure possible", "Decision"]}
        busy={requests.loading}
        empty={requests.data?.items.length === 0 && `No ${status} erasure request.`}
      >
        {requests.data?.items.map((request) => (
          <tr key={request.id}>
            <td>{formatTime(request.requestedAt)}</td>
            <td>
              <code>{request.userId}</code>
            </td>
            <td>
              {request.status !== "open"
                ? "—"
                : request.earliestErasureAt
                  ? `from ${formatTime(request.earliestErasureAt)} at the earliest`
                  : "now"}
            </td>
            <td>
              {request.status === "open" && request.userId !== me.user.id ? (
                <form
                  className="decision"
                  onSubmit={(event) => decide(event, request)}
                  noValidate
                  aria-label={`Decide on the erasure request of ${formatTime(request.requestedAt)}`}
                >
                  <label htmlFor={`erasure-reason-${request.id}`}>Reason (to refuse; the user reads it)</label>
                  <input
                    id={`erasure-reason-${request.id}`}
                    name="reason"
                    maxLength={1000}
                    autoComplete="off"
                    size={36}
                  />{" "}
                  <button type="submit" value="approve" className="primary" disabled={busy}>
                    Approve and erase
                  </button>{" "}
                  <button type="submit" value="reject" className="danger" disabled={busy}>
                    Refuse
                  </button>
                </form>
              ) : request.status === "open" ? (
                "Your own request: another admin decides it."
              ) : (
                `${request.status} ${formatTime(request.decidedAt)}${request.refusalReason ? ` (“${request.refusalReason}”)` : ""}`
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      <Pager paging={paging} page={requests.data} noun="Requests" none="No requests" />
    </Page>
  );
}
