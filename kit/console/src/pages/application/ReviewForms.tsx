// The two forms of the reviewer's actions: the decision on an application in review, and the
// revocation of an approval.

import type { ReviewDetail, RevocationCategory } from "../../api";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { formatTime } from "../../format";
import { DECISION_LABELS, DECISIONS, type ReviewForms } from "./review-state";

export function DecisionForm({ mine, form }: { mine: boolean; form: ReviewForms }) {
  const { busy, decision, setDecision, reason, setReason, formError, decide } = form;
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

export function RevokeForm({ application, form }: { application: ReviewDetail["application"]; form: ReviewForms }) {
  const { busy, reason, setReason, category, setCategory, formError, revoke } = form;
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
