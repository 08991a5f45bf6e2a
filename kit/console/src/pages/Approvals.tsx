// Approvals waiting for me (four eyes): operations on the tokens I am granted on that another
// issuer requested and that need a second person; oldest first. Each is approved (Kit then sends
// it) or refused, with a reason that is recorded. Kit refuses my own requests; they are not listed.
// Below them, the changes of a token's policy that wait for me (./approvals/PolicyChanges.tsx).
import type { FormEvent } from "react";
import { type Me, type OperationView, rpc } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { DecisionForm } from "../components/DecisionForm";
import { readDecision } from "../components/decision";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime, OPERATION_KIND_LABELS } from "../format";
import { useLoad } from "../hooks";
import { Link } from "../router";
import { PolicyChangesCard } from "./approvals/PolicyChanges";
import { OperationParameters, requesterName, type TokenUnits } from "./token/OperationDetails";

const PAGE_SIZE = 25;

export function ApprovalsPage({ me }: { me: Me }) {
  const paging = useCursorPaging(PAGE_SIZE);
  const { cursor } = paging;
  const waiting = useLoad(async () => {
    const page = await rpc.tokens.operations.awaitingMyApproval({ cursor, limit: PAGE_SIZE });
    // Amounts are in each token's smallest unit: its decimals and symbol say how to write them.
    const addresses = [...new Set(page.items.map((o) => o.token))];
    const details = await Promise.all(addresses.map((address) => rpc.tokens.get({ address }).catch(() => null)));
    const tokens = new Map(addresses.map((address, i) => [address, details[i] ?? null]));
    return { ...page, tokens };
  }, [cursor]);
  const { busy, outcome, setOutcome, run } = useAction(waiting.reload);

  const decide = (event: FormEvent<HTMLFormElement>, operation: OperationView, what: string) => {
    const { decision, reason } = readDecision(event);
    if (!reason) {
      return setOutcome({
        error: true,
        text: `A reason is required to approve or refuse the ${what}; it is recorded.`,
      });
    }
    void run(async () => {
      if (decision === "reject") {
        await rpc.tokens.operations.reject({ id: operation.id, reason });
        return `Refused the ${what}.`;
      }
      await rpc.tokens.operations.approve({ id: operation.id, reason });
      return `Approved the ${what}: Kit is sending it (follow it on the token's page).`;
    });
  };

  return (
    <Page heading="Approvals waiting for me" headingId="approvals-title" tabTitle="Approvals">
      <p className="muted">
        Operations on your tokens that another issuer requested and that need a second person. Your own requests wait
        for someone else.
      </p>
      <div className="filters">
        <button type="button" onClick={() => void waiting.reload()} disabled={waiting.loading}>
          Check again
        </button>
      </div>
      <Outcome outcome={outcome} />
      <Alert>{waiting.error}</Alert>
      <DataTable
        className="approvals"
        columns={["Requested", "Token", "Operation", "By", "Decision"]}
        busy={waiting.loading}
        empty={waiting.data?.items.length === 0 && "Nothing waits for your approval."}
      >
        {waiting.data?.items.map((operation) => (
          <ApprovalRow
            key={operation.id}
            me={me}
            operation={operation}
            token={waiting.data?.tokens.get(operation.token) ?? null}
            busy={busy}
            decide={decide}
          />
        ))}
      </DataTable>
      <Pager paging={paging} page={waiting.data} noun="Operations" none="Nothing waiting" />
      <PolicyChangesCard me={me} />
    </Page>
  );
}

/** One operation waiting: what, on which token, by whom, and the reason with approve and refuse. */
function ApprovalRow({
  me,
  operation,
  token,
  busy,
  decide,
}: {
  me: Me;
  operation: OperationView;
  token: (TokenUnits & { name: string | null }) | null;
  busy: boolean;
  decide: (event: FormEvent<HTMLFormElement>, operation: OperationView, what: string) => void;
}) {
  const units: TokenUnits = token ?? { decimals: 0, symbol: null };
  const what = `${OPERATION_KIND_LABELS[operation.kind].toLowerCase()} requested ${formatTime(operation.createdAt)}`;
  return (
    <tr>
      <td>{formatTime(operation.createdAt)}</td>
      <td>
        <Link to={`/tokens/${operation.token}`}>{token?.symbol ?? token?.name ?? operation.token}</Link>
      </td>
      <td>
        <strong>{OPERATION_KIND_LABELS[operation.kind]}</strong>:{" "}
        {token ? <OperationParameters operation={operation} units={units} /> : "(token not indexed)"}
      </td>
      <td>{requesterName(me, operation.requestedBy)}</td>
      <td>
        <DecisionForm
          label={`Decide on the ${what}`}
          reasonId={`reason-${operation.id}`}
          busy={busy}
          onSubmit={(event) => decide(event, operation, what)}
        />
      </td>
    </tr>
  );
}
