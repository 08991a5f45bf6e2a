// The state of the reviewer's forms (outcome, the internal note and the message to the applicant,
// revocation category, the form's own error) and their two submissions: decide an application in
// review, revoke an approval.
import { type FormEvent, useState } from "react";
import { errorCode, type RejectionLabel, type ReviewDetail, type RevocationCategory, rpc } from "../../api";
import { type PageActions, useApplicationAction } from "./Notice";

type Decision = "approve" | "request_changes" | "reject";
/** A reviewer's outcomes, in the order offered, as the choice and its button say them. */
export const DECISION_LABELS: Record<Decision, string> = {
  approve: "Approve",
  request_changes: "Request changes",
  reject: "Reject",
};
export const DECISIONS = Object.keys(DECISION_LABELS) as Decision[];

/** What the decision form still lacks, in words; undefined when it may be sent. */
function decisionProblem(decision: Decision, note: string, message: string, labels: RejectionLabel[]) {
  if (decision !== "approve" && !note) {
    return `An internal note is required to ${decision === "reject" ? "reject" : "request changes"}.`;
  }
  if (decision === "reject" && labels.length === 0) return "Pick at least one label to reject.";
  if (decision === "request_changes" && !message) {
    return "A message to the applicant is required to request changes: tell them what to change.";
  }
  return undefined;
}

/** What the page says once the decision went through (a first of two approvals says so). */
function decisionWords(decision: Decision, final: boolean): string | ((result: unknown) => string) {
  if (decision === "approve") {
    return (result) =>
      (result as { status?: string }).status === "approval_pending"
        ? "Approved; a second reviewer must confirm it."
        : "Approved.";
  }
  return decision === "reject" ? (final ? "Rejected (final)." : "Rejected.") : "Changes requested.";
}

export function useReviewForms(application: ReviewDetail["application"], page: PageActions) {
  const { busy, run: act } = useApplicationAction(page);
  const [decision, setDecision] = useState<Decision>("approve");
  const [note, setNote] = useState("");
  const [message, setMessage] = useState("");
  const [labels, setLabels] = useState<RejectionLabel[]>([]);
  const [final, setFinal] = useState(false);
  const toggleLabel = (label: RejectionLabel) =>
    setLabels((current) => (current.includes(label) ? current.filter((l) => l !== label) : [...current, label]));
  const [category, setCategory] = useState<RevocationCategory>("other");
  const [formError, setFormError] = useState<string>();

  const run = (action: () => Promise<unknown>, done: string | ((result: unknown) => string)) =>
    act(action, done, {
      onSuccess: () => {
        setNote("");
        setMessage("");
        setLabels([]);
        setFinal(false);
      },
      // Only when the application moved on under us is it read again: to show where it is now.
      reloadAfterRefusal: (error) => errorCode(error) === "CONFLICT",
    });

  const decide = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const internalNote = note.trim();
    const messageToApplicant = message.trim();
    const problem = decisionProblem(decision, internalNote, messageToApplicant, labels);
    setFormError(problem);
    if (problem) return;
    const words = decisionWords(decision, final);
    void run(
      () =>
        rpc.kyc.review.decide({
          applicationId: application.id,
          decision,
          internalNote: internalNote || undefined,
          messageToApplicant: messageToApplicant || undefined,
          labels: decision !== "approve" && labels.length > 0 ? labels : undefined,
          final: decision === "reject" ? final : undefined,
          version: application.version,
        }),
      words,
    );
  };

  const revoke = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const internalNote = note.trim();
    const messageToApplicant = message.trim();
    if (!internalNote) {
      setFormError("An internal note is required to revoke an approval.");
      return;
    }
    setFormError(undefined);
    void run(
      () =>
        rpc.kyc.review.revoke({
          applicationId: application.id,
          internalNote,
          messageToApplicant: messageToApplicant || undefined,
          category,
        }),
      category === "other" ? "Approval revoked." : "Approval revoked; the applicant's wallets are being frozen.",
    );
  };

  return {
    busy,
    run,
    decision,
    setDecision,
    note,
    setNote,
    message,
    setMessage,
    labels,
    toggleLabel,
    final,
    setFinal,
    category,
    setCategory,
    formError,
    decide,
    revoke,
  };
}

export type ReviewForms = ReturnType<typeof useReviewForms>;
