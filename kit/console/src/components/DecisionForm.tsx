// The approve-or-refuse form of a row waiting for a second person: a recorded reason and the two
// buttons; the pressed one's value ("approve" or "reject") is read with readDecision (decision.ts).
import type { FormEvent } from "react";

export function DecisionForm({
  label,
  reasonId,
  busy,
  onSubmit,
}: {
  /** What the form decides on, for assistive technology. */
  label: string;
  reasonId: string;
  busy: boolean;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
}) {
  return (
    <form className="decision" onSubmit={onSubmit} noValidate aria-label={label}>
      <label htmlFor={reasonId}>Reason (recorded)</label>
      <input id={reasonId} name="reason" maxLength={1000} autoComplete="off" size={36} />{" "}
      <button type="submit" value="approve" className="primary" disabled={busy}>
        Approve
      </button>{" "}
      <button type="submit" value="reject" className="danger" disabled={busy}>
        Refuse
      </button>
    </form>
  );
}
