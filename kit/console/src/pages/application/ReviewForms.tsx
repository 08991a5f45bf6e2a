// The two forms of the reviewer's actions: the decision on an application in review, and the
// revocation of an approval. Each has two texts: the internal note (reviewers only) and the
// message to the applicant (the only text they see).

import type { FormEvent } from "react";
import { type ReviewDetail, type RevocationCategory, type RiskLevel, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { Options } from "../../components/Options";
import { formatTime, REJECTION_LABEL_WORDS, REJECTION_LABELS, RISK_LABELS } from "../../format";
import { DECISION_LABELS, DECISIONS, type ReviewForms } from "./review-state";

/** The internal note and the message to the applicant, as both forms ask for them. */
function DecisionTexts({
  form,
  noteRequired,
  messageRequired,
}: {
  form: ReviewForms;
  noteRequired: boolean;
  messageRequired: boolean;
}) {
  const { note, setNote, message, setMessage, formError } = form;
  return (
    <>
      <label>
        Internal note {noteRequired ? "(required; " : "(optional; "}reviewers only, never shown to the applicant)
        <textarea
          name="internalNote"
          rows={3}
          value={note}
          maxLength={2000}
          aria-required={noteRequired}
          aria-invalid={formError && noteRequired && !note.trim() ? true : undefined}
          onChange={(e) => setNote(e.target.value)}
        />
      </label>
      <label>
        Message to the applicant {messageRequired ? "(required)" : "(optional)"}
        <textarea
          name="messageToApplicant"
          rows={2}
          value={message}
          maxLength={2000}
          aria-required={messageRequired}
          onChange={(e) => setMessage(e.target.value)}
        />
      </label>
    </>
  );
}

/** The labels of a rejection or request for changes, and (rejections) final or retry. */
function LabelsFields({ form }: { form: ReviewForms }) {
  const { decision, labels, toggleLabel, final, setFinal } = form;
  if (decision === "approve") return null;
  return (
    <>
      <fieldset className="labels">
        <legend>
          Labels {decision === "reject" ? "(at least one; reviewers only)" : "(optional; reviewers only)"}
        </legend>
        {REJECTION_LABELS.map((label) => (
          <label key={label} className="inline">
            <input type="checkbox" checked={labels.includes(label)} onChange={() => toggleLabel(label)} />
            {REJECTION_LABEL_WORDS[label]}
          </label>
        ))}
      </fieldset>
      {decision === "reject" && (
        <fieldset>
          <legend>May the applicant apply again?</legend>
          <label className="inline">
            <input type="radio" name="final" checked={!final} onChange={() => setFinal(false)} />
            Retry: they may start a new application
          </label>
          <label className="inline">
            <input type="radio" name="final" checked={final} onChange={() => setFinal(true)} />
            Final: no new application until an administrator lifts it
          </label>
        </fieldset>
      )}
    </>
  );
}

export function DecisionForm({ mine, form, second }: { mine: boolean; form: ReviewForms; second?: boolean }) {
  const { busy, decision, setDecision, formError, decide } = form;
  return (
    <Card heading="Decision" headingId="actions-title" className="actions">
      {second && <p>Another reviewer approved this application: two-person rule, your approval makes it final.</p>}
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
        <LabelsFields form={form} />
        <DecisionTexts
          form={form}
          noteRequired={decision !== "approve"}
          messageRequired={decision === "request_changes"}
        />
        <Alert>{formError}</Alert>
        <button type="submit" className={decision === "approve" ? "primary" : "danger"} disabled={busy}>
          {DECISION_LABELS[decision]}
        </button>
      </form>
    </Card>
  );
}

/** The risk level of the application in review, with its reason; high needs a second approver. */
export function RiskForm({ detail, form }: { detail: ReviewDetail; form: ReviewForms }) {
  const { busy, run } = form;
  const { risk, application } = detail;
  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const element = event.currentTarget;
    const data = new FormData(element);
    const level = String(data.get("level")) as RiskLevel;
    const reason = String(data.get("riskReason") ?? "").trim();
    void run(
      () => rpc.kyc.review.setRisk({ applicationId: application.id, level, reason }),
      `Risk set to ${RISK_LABELS[level].toLowerCase()}.`,
    );
  };
  return (
    <Card heading="Risk" headingId="risk-title" className="actions">
      {risk && (
        <p>
          {RISK_LABELS[risk.level]} since {formatTime(risk.setAt)}: {risk.reason}
        </p>
      )}
      <form onSubmit={save}>
        <label>
          Risk level
          <select name="level" defaultValue={risk?.level ?? "low"} key={risk?.level}>
            <Options values={Object.keys(RISK_LABELS) as RiskLevel[]} label={(r) => RISK_LABELS[r]} />
          </select>
        </label>
        <label>
          Why (required; reviewers only)
          <textarea name="riskReason" rows={2} maxLength={1000} required />
        </label>
        <button type="submit" disabled={busy}>
          Set risk
        </button>
      </form>
    </Card>
  );
}

export function RevokeForm({ application, form }: { application: ReviewDetail["application"]; form: ReviewForms }) {
  const { busy, category, setCategory, formError, revoke } = form;
  return (
    <Card heading="Approved" headingId="actions-title" className="actions">
      <p>
        Valid until {formatTime(application.expiresAt)}.
        {application.messageToApplicant && ` The applicant was told: ${application.messageToApplicant}`}
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
        <DecisionTexts form={form} noteRequired messageRequired={false} />
        <Alert>{formError}</Alert>
        <button type="submit" className="danger" disabled={busy}>
          Revoke approval
        </button>
      </form>
    </Card>
  );
}
