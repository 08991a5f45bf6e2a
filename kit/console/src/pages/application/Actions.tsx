// The reviewer's actions on one application, by its status: claim it, decide it (an internal note
// is required to reject or to ask for changes, and a message to the applicant to ask for changes), or revoke an approval (a sanctions or fraud revocation
// freezes the wallets). Errors from the four-eyes rule and races come back as a notice.

import type { FormEvent } from "react";
import { can, type Me, type ReviewDetail, rpc } from "../../api";
import { Card } from "../../components/Card";
import { formatTime, REJECTION_LABEL_WORDS, STATUS_LABELS } from "../../format";
import type { PageActions } from "./Notice";
import { DecisionForm, RevokeForm, RiskForm } from "./ReviewForms";
import { type ReviewForms, useReviewForms } from "./review-state";

export function Actions({ me, detail, ...page }: { me: Me; detail: ReviewDetail } & PageActions) {
  const { application, reviewerId } = detail;
  const form = useReviewForms(application, page);
  const { busy, run } = form;
  const mayDecide = can(me, "kyc", "decide");
  const isAdmin = me.user.role === "admin";

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
    return (
      <>
        <RiskForm detail={detail} form={form} />
        <DecisionForm mine={mine} form={form} />
      </>
    );
  }

  if (application.status === "approval_pending") {
    const firstApprover = detail.approval.firstApproverId === me.user.id;
    if (!mayDecide || firstApprover) {
      return (
        <Card heading="Awaiting second approval" headingId="actions-title" className="actions">
          <p>
            {firstApprover ? "You gave" : "Another reviewer gave"} the first approval on{" "}
            {formatTime(detail.approval.firstApprovedAt)}; a different reviewer must give the second.
          </p>
        </Card>
      );
    }
    return <DecisionForm mine form={form} second />;
  }

  if (application.status === "approved" && mayDecide) {
    return <RevokeForm application={application} form={form} />;
  }

  return <DecidedCard me={me} detail={detail} form={form} />;
}

/** A decided application: the decision's two texts and labels; a final rejection's block, which an admin lifts. */
function DecidedCard({ me, detail, form }: { me: Me; detail: ReviewDetail; form: ReviewForms }) {
  const { application, decision } = detail;
  const { busy, run } = form;
  const blocked = decision.final && !decision.blockLifted;
  const lift = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const element = event.currentTarget;
    const reason = String(new FormData(element).get("reason") ?? "").trim();
    void run(
      () => rpc.kyc.review.liftBlock({ applicationId: application.id, reason }),
      "Block lifted: the applicant may apply again.",
    );
  };
  return (
    <Card heading={STATUS_LABELS[application.status]} headingId="actions-title" className="actions">
      <p>Decided {formatTime(application.decidedAt)}</p>
      {decision.labels && <p>Labels: {decision.labels.map((l) => REJECTION_LABEL_WORDS[l]).join(", ")}</p>}
      {decision.internalNote && <p>Internal note: {decision.internalNote}</p>}
      {application.messageToApplicant && <p>The applicant was told: {application.messageToApplicant}</p>}
      {decision.final && <p>Final rejection: the applicant may not start a new application.</p>}
      {decision.blockLifted && (
        <p className="muted">
          Block lifted {formatTime(decision.blockLifted.at)}: {decision.blockLifted.reason}
        </p>
      )}
      {blocked && can(me, "kyc", "lift_freeze") && (
        <form onSubmit={lift}>
          <label>
            Reason to let them apply again (required)
            <textarea name="reason" rows={2} maxLength={2000} required />
          </label>
          <button type="submit" disabled={busy}>
            Lift the block
          </button>
        </form>
      )}
    </Card>
  );
}
