// One operation's form on the token page: its fields, checked in the browser first (amounts in the
// token's decimals, wallet addresses), then Kit's answer in words, then the operation it created
// and where it stands, live. Every servicing form is this one with other fields.
import type { FormEvent, ReactNode } from "react";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { OperationLine, type TokenUnits } from "./OperationDetails";
import { type SendOperation, useOperationRequest } from "./request";

export function OperationForm({
  heading,
  headingId,
  submitLabel,
  danger = false,
  units,
  note,
  fieldLabel,
  prepare,
  onSent,
  children,
}: {
  heading: string;
  headingId: string;
  submitLabel: string;
  /** A red button, for what takes something away from a holder. */
  danger?: boolean;
  units: TokenUnits;
  /** Said under the heading (e.g. that a second person must approve). */
  note?: ReactNode;
  /** Names a field by the path Kit gives its issue. */
  fieldLabel?: (path: string) => string;
  /** Why the values cannot be sent (in words), or how to send them. */
  prepare: (form: FormData) => string | SendOperation;
  /** After Kit recorded the operation (the form itself is cleared). */
  onSent?: () => void;
  /** The fields. */
  children?: ReactNode;
}) {
  const { busy, error, setError, created, request } = useOperationRequest(fieldLabel);
  const errorId = `${headingId}-error`;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const prepared = prepare(new FormData(form));
    if (typeof prepared === "string") return setError(prepared);
    void request(prepared).then((recorded) => {
      if (!recorded) return;
      form.reset();
      onSent?.();
    });
  };

  return (
    <Card heading={heading} headingId={headingId} className="operation-form">
      {note && <p className="muted">{note}</p>}
      <form onSubmit={submit} noValidate aria-describedby={error ? errorId : undefined}>
        {children}
        <Alert id={errorId}>{error}</Alert>
        <button type="submit" className={danger ? "danger" : "primary"} disabled={busy}>
          {busy ? "Sending…" : submitLabel}
        </button>
      </form>
      {created && <OperationLine operation={created} units={units} />}
    </Card>
  );
}
