// The reviewer's actions on one application, by its status: claim it, decide it (a reason is
// required to reject or to ask for changes), or revoke an approval (a sanctions or fraud revocation
// freezes the wallets). Errors from the four-eyes rule and races come back as a notice.
import { type FormEvent, useState } from "react";
import { can, errorCode, type Me, type ReviewDetail, type RevocationCategory, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { formatTime, STATUS_LABELS } from "../../format";
import { type PageActions, useApplicationAction } from "./Notice";

type Decision = "approve" | "request_changes" | "reject";
/** A reviewer's outcomes, in the order offered, as the choice and its button say them. */
const DECISION_LABELS: Record<Decision, string> = {
  approve: "Approve",
  request_changes: "Request changes",
  reject: "Reject",
};
const DECISIONS = Object.keys(DECISION_LABELS) as Decision[];

export function Actions({ me, detail, ...page }: { me: Me; detail: ReviewDetail } & PageActions) {
  const { application, reviewerId } = detail;
  const { busy, run: act } = useApplicationAction(page);
  const [decision, setDecision] = useState<Decision>("approve");
  const [reason, setReason] = useState("");
  const [category, setCategory] = useState<RevocationCategory>("other");
  const [formError, setFormError] = useState<string>();
  const mayDecide = can(me, "kyc", "decide");
  const isAdmin = me.user.role === "admin";

  const run = (action: () => Promise<unknown>, done: string) =>
    act(action, done, {
      onSuccess: () => setReason(""),
      // Only when the application moved on under us is it read again: to show where it is now.
      reloadAfterRefusal: (error) => errorCode(error) === "CONFLICT",
    });

  const decide = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = reason.trim();
    if (decision !== "approve" && !text) {
      setFormError(
        `A reason is required to ${decision === "reject" ? "reject" : "request changes"}; the applicant sees it.`,
      );
      return;
    }
    setFormError(undefined);
    const words = { approve: "Approved.", reject: "Rejected.", request_changes: "Changes requested." }[decision];
    void run(
      () =>
        rpc.kyc.review.decide({
          applicationId: application.id,
          decision,
          reason: text || undefined,
          version: application.version,
        }),
      words,
    );
  };

  const revoke = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = reason.trim();
    if (!text) {
      setFormError("A reason is required to revoke an approval.");
      return;
    }
    setFormError(undefined);
    void run(
      () => rpc.kyc.review.revoke({ applicationId: application.id, reason: text, category }),
      category === "other" ? "Approval revoked." : "Approval revoked; the applicant's wallets are being frozen.",
    );
  };

  if (application.status === "submitted") {
    return (
      <Card heading="Review" headingId="actions-title" className="actions">
        <p>Claim the application to review it; it is then yours to decide.</p>
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() =>
            void run(() => rpc.kyc.review.claim({ applicationId: application.id }), "Claimed: it is yours to decide.")
          }
        >
          Claim for review
        </button>
      </Card>
    );
  }

  if (application.status === "in_review") {
    const mine = reviewerId === me.user.id;
    if (!mayDecide || (!mine && !isAdmin)) {
      return (
        <Card heading="Review" headingId="actions-title" className="actions">
          <p>Another reviewer has claimed this application; only they (or an administrator) can decide it.</p>
        </Card>
      );
    }
    const reasonRequired = decision !== "approve";
    return (
      <Card heading="Decision" headingId="actions-title" className="actions">
        {!mine && <p className="muted">Claimed by another reviewer: as an administrator you decide in their place.</p>}
        <form onSubmit={decide}>
          <fieldset>
            <legend>Outcome</legend>
            {DECISIONS.map((outcome) => (
              <label key={outcome} className="inline">
                <input
                  type="radio"
                  name="decision"
                  value={outcome}
                  checked={decision === outcome}
                  onChange={() => setDecision(outcome)}
                />
                {DECISION_LABELS[outcome]}
              </label>
            ))}
          </fieldset>
          <label>
            Reason {reasonRequired ? "(required; the applicant sees it)" : "(optional; the applicant sees it)"}
            <textarea
              name="reason"
              rows={3}
              value={reason}
              maxLength={2000}
              aria-required={reasonRequired}
              aria-invalid={formError ? true : undefined}
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
          <Alert>{formError}</Alert>
          <button type="submit" className={decision === "approve" ? "primary" : "danger"} disabled={busy}>
            {DECISION_LABELS[decision]}
          </button>
        </form>
      </Card>
    );
  }

  if (application.status === "approved" && mayDecide) {
    return (
      <Card heading="Approved" headingId="actions-title" className="actions">
        <p>
          Valid until {formatTime(application.expiresAt)}.
          {application.decisionReason && ` Reason: ${application.decisionReason}`}
        </p>
        <form onSubmit={revoke}>
          <label>
            Why
            <select value={category} onChange={(e) => setCategory(e.target.value as RevocationCategory)}>
              <option value="other">Other (no freeze)</option>
              <option value="sanctions">Sanctions hit: freeze the wallets</option>
              <option value="fraud">Fraud: freeze the wallets</option>
            </select>
          </label>
          <label>
            Reason to revoke (required)
            <textarea
              name="reason"
              rows={2}
              value={reason}
              maxLength={2000}
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
          <Alert>{formError}</Alert>
          <button type="submit" className="danger" disabled={busy}>
            Revoke approval
          </button>
        </form>
      </Card>
    );
  }

  return (
    <Card heading={STATUS_LABELS[application.status]} headingId="actions-title" className="actions">
      <p>
        Decided {formatTime(application.decidedAt)}
        {application.decisionReason && `: ${application.decisionReason}`}
      </p>
    </Card>
  );
}
