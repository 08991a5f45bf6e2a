// Policy changes waiting for me (four eyes on the policy itself): loosening changes another issuer
// asked for on my tokens. Approving applies it at once; refusing keeps the policy. Both need a reason.
import type { FormEvent } from "react";
import { type Me, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { DataTable } from "../../components/DataTable";
import { DecisionForm } from "../../components/DecisionForm";
import { readDecision } from "../../components/decision";
import { Outcome, useAction } from "../../components/Outcome";
import { formatTime } from "../../format";
import { useLoad } from "../../hooks";
import { Link } from "../../router";
import { requesterName } from "../token/OperationDetails";
import { policyWords } from "../token/Policy";

type Change = Awaited<ReturnType<typeof rpc.tokens.operations.policy.awaitingMyApproval>>["items"][number];

export function PolicyChangesCard({ me }: { me: Me }) {
  const waiting = useLoad(() => rpc.tokens.operations.policy.awaitingMyApproval({ limit: 100 }), []);
  const { busy, outcome, setOutcome, run } = useAction(waiting.reload);

  const decide = (event: FormEvent<HTMLFormElement>, change: Change) => {
    const { decision, reason } = readDecision(event);
    if (!reason) return setOutcome({ error: true, text: "A reason is required for a decision; it is recorded." });
    void run(async () => {
      if (decision === "reject") {
        await rpc.tokens.operations.policy.reject({ id: change.id, reason });
        return "Refused the policy change.";
      }
      await rpc.tokens.operations.policy.approve({ id: change.id, reason });
      return "Approved the policy change: it applies now.";
    });
  };

  return (
    <Card heading="Policy changes waiting for me" headingId="policy-changes-title">
      <p className="muted">Another issuer asked to loosen a token's four eyes; it applies once you approve it.</p>
      <Outcome outcome={outcome} />
      <Alert>{waiting.error}</Alert>
      <DataTable
        className="approvals"
        columns={["Asked", "Token", "New policy", "By", "Decision"]}
        busy={waiting.loading}
        empty={waiting.data?.items.length === 0 && "No policy change waits for you."}
      >
        {waiting.data?.items.map((change) => (
          <tr key={change.id}>
            <td>{formatTime(change.requestedAt)}</td>
            <td>
              <Link to={`/tokens/${change.token}`}>{change.token}</Link>
            </td>
            <td>
              {policyWords(change, null)}
              {change.reason ? ` (“${change.reason}”)` : ""}
            </td>
            <td>{requesterName(me, change.requestedBy)}</td>
            <td>
              <DecisionForm
                label={`Decide on the policy change asked ${formatTime(change.requestedAt)}`}
                reasonId={`policy-reason-${change.id}`}
                busy={busy}
                onSubmit={(event) => decide(event, change)}
              />
            </td>
          </tr>
        ))}
      </DataTable>
    </Card>
  );
}
