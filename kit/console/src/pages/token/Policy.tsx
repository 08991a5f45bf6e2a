// The token's four-eyes policy: what needs a second issuer, a change waiting for a decision (which
// another issuer approves or refuses, and its requester may withdraw), and a form to ask for a
// change. Kit applies a change that only tightens at once; one that loosens waits.
import type { FormEvent } from "react";
import { type Me, type OperationKind, type OperationPolicy, rpc } from "../../api";
import { Card } from "../../components/Card";
import { readDecision } from "../../components/decision";
import { Outcome, useAction } from "../../components/Outcome";
import { formatTime, OPERATION_KIND_LABELS } from "../../format";
import { requesterName, type TokenUnits } from "./OperationDetails";

/** The kinds a policy may list, in the order the forms show them. */
const POLICY_KINDS: OperationKind[] = [
  "mint",
  "burn",
  "forced_transfer",
  "recover",
  "pause",
  "unpause",
  "freeze",
  "unfreeze",
  "freeze_partial",
  "unfreeze_partial",
];

type Change = NonNullable<OperationPolicy["pendingChange"]>;

export function policyWords(policy: Pick<Change, "approvalKinds" | "mintThreshold">, symbol: string | null): string {
  const kinds = policy.approvalKinds.map((kind) => OPERATION_KIND_LABELS[kind].toLowerCase());
  if (policy.mintThreshold) kinds.push(`mints of more than ${policy.mintThreshold}${symbol ? ` ${symbol}` : ""}`);
  return kinds.length > 0
    ? `a second issuer's approval for: ${kinds.join(", ")}`
    : "no operation needs a second issuer";
}

type Action = ReturnType<typeof useAction>;

export function PolicyCard({
  me,
  address,
  units,
  policy,
  reload,
}: {
  me: Me;
  address: string;
  units: TokenUnits;
  policy: OperationPolicy;
  reload: () => Promise<void>;
}) {
  const action = useAction(reload);
  return (
    <Card heading="Four eyes" headingId="policy-title">
      <p>Now: {policyWords(policy, units.symbol)}.</p>
      {policy.pendingChange && (
        <PendingChange me={me} change={policy.pendingChange} symbol={units.symbol} action={action} />
      )}
      <AskForChange address={address} policy={policy} action={action} />
      <Outcome outcome={action.outcome} />
    </Card>
  );
}

/** The change waiting: approve or refuse it (another issuer), or withdraw it (its requester). */
function PendingChange({
  me,
  change,
  symbol,
  action,
}: {
  me: Me;
  change: Change;
  symbol: string | null;
  action: Action;
}) {
  const { busy, setOutcome, run } = action;
  const own = change.requestedBy === me.user.id;
  const decide = (event: FormEvent<HTMLFormElement>) => {
    const { decision, reason } = readDecision(event);
    if (!reason) return setOutcome({ error: true, text: "A reason is required for a decision; it is recorded." });
    void run(async () => {
      if (decision === "approve") {
        await rpc.tokens.operations.policy.approve({ id: change.id, reason });
        return "Approved: the new policy applies now.";
      }
      await rpc.tokens.operations.policy.reject({ id: change.id, reason });
      return own ? "Withdrew your change." : "Refused the change.";
    });
  };
  return (
    <form className="decision" onSubmit={decide} noValidate aria-label="Pending change">
      <p>
        <strong>Waiting for a second issuer</strong>: {requesterName(me, change.requestedBy)} asked{" "}
        {formatTime(change.requestedAt)} for {policyWords(change, symbol)}
        {change.reason ? ` (“${change.reason}”)` : ""}.
      </p>
      <label htmlFor="policy-decision-reason">Reason (recorded)</label>
      <input id="policy-decision-reason" name="reason" maxLength={1000} autoComplete="off" size={36} />{" "}
      {own ? (
        <button type="submit" value="reject" disabled={busy}>
          Withdraw
        </button>
      ) : (
        <>
          <button type="submit" value="approve" className="primary" disabled={busy}>
            Approve change
          </button>{" "}
          <button type="submit" value="reject" className="danger" disabled={busy}>
            Refuse change
          </button>
        </>
      )}
    </form>
  );
}

/** Asks for a new policy: Kit applies it at once if it only tightens, else it waits. */
function AskForChange({ address, policy, action }: { address: string; policy: OperationPolicy; action: Action }) {
  const { busy, run } = action;
  const ask = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const approvalKinds = POLICY_KINDS.filter((kind) => form.get(`kind-${kind}`) === "on");
    const threshold = String(form.get("mintThreshold") ?? "").trim();
    const reason = String(form.get("reason") ?? "").trim();
    void run(async () => {
      const { change } = await rpc.tokens.operations.policy.set({
        address,
        approvalKinds,
        mintThreshold: threshold === "" ? null : threshold,
        ...(reason ? { reason } : {}),
      });
      return change.status === "pending"
        ? "It loosens four eyes, so it waits for another of the token's issuers."
        : "Applied: it only tightens four eyes.";
    });
  };
  return (
    <details>
      <summary>Change the policy</summary>
      <form onSubmit={ask} noValidate aria-label="Change the policy">
        <fieldset>
          <legend>Operations that need a second issuer</legend>
          {POLICY_KINDS.map((kind) => (
            <label key={kind} className="inline">
              <input type="checkbox" name={`kind-${kind}`} defaultChecked={policy.approvalKinds.includes(kind)} />{" "}
              {OPERATION_KIND_LABELS[kind]}
            </label>
          ))}
        </fieldset>
        <label htmlFor="policy-threshold">Mints above (whole tokens; empty: no threshold)</label>
        <input
          id="policy-threshold"
          name="mintThreshold"
          inputMode="decimal"
          defaultValue={policy.mintThreshold ?? ""}
          autoComplete="off"
        />
        <label htmlFor="policy-reason">Why (shown to the issuer who decides)</label>
        <input id="policy-reason" name="reason" maxLength={1000} autoComplete="off" />
        <p className="muted">A change that loosens four eyes waits for another of the token's issuers.</p>
        <button type="submit" disabled={busy}>
          Ask for this policy
        </button>
      </form>
    </details>
  );
}
