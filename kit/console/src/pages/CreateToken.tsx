// Create a token (tokens.create): its kind and terms, identity (name, symbol, decimals, ISIN) and
// compliance rules. Kit answers with the creation operation at once; this page follows it
// (tokens.operations.get, twice a second) until the token is deployed and unpaused, then links to
// the new token's page. Kit's refusals are said in words, naming the field.
import { type FormEvent, useEffect, useRef, useState } from "react";
import { describeError, type OperationView, rpc } from "../api";
import { Alert } from "../components/Alert";
import { Card } from "../components/Card";
import { Page } from "../components/Page";
import { CreationProgress } from "./create-token/CreationProgress";
import { ComplianceFields, IdentityFields, TermsFields } from "./create-token/Fields";
import { fieldLabel, KINDS, type Kind, newIdempotencyKey, prepare } from "./create-token/prepare";

/** The creation operation, read again until it is settled. */
function useFollow(initial: OperationView | undefined) {
  const [operation, setOperation] = useState(initial);
  useEffect(() => setOperation(initial), [initial]);
  const settled = !operation || operation.status === "confirmed" || operation.status === "failed";
  useEffect(() => {
    if (settled || !operation) return;
    const timer = setTimeout(() => {
      rpc.tokens.operations
        .get({ id: operation.id })
        .then(setOperation)
        .catch(() => setTimeout(() => setOperation({ ...operation }), 1_000));
    }, 500);
    return () => clearTimeout(timer);
  }, [operation, settled]);
  return operation;
}

export function CreateTokenPage() {
  const [kind, setKind] = useState<Kind>("bond");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<OperationView>();
  const key = useRef(newIdempotencyKey());
  const operation = useFollow(created);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const body = prepare(kind, new FormData(event.currentTarget));
    if (typeof body === "string") return setError(body);
    setBusy(true);
    setError(undefined);
    try {
      const answer = await rpc.tokens.create({ ...body, idempotencyKey: key.current });
      key.current = newIdempotencyKey();
      setCreated(answer.operation);
    } catch (caught) {
      // A lost answer keeps the key: sending again answers the creation Kit may have recorded.
      if (!(caught instanceof TypeError)) key.current = newIdempotencyKey();
      setError(describeError(caught, fieldLabel));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page heading="Create a token" headingId="create-token-title">
      <p className="muted">
        Kit's agent deploys it with the T-REX factory (its ISIN is the factory salt), binds the compliance rules, and
        unpauses it; you are then granted on it.
      </p>
      <Card heading="The token" headingId="create-token-form">
        <form onSubmit={submit} noValidate aria-describedby={error ? "create-token-error" : undefined}>
          <label>
            Kind
            <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <IdentityFields />
          <TermsFields kind={kind} />
          <ComplianceFields />
          <Alert id="create-token-error">{error}</Alert>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Sending…" : "Create token"}
          </button>
        </form>
      </Card>
      {operation && <CreationProgress operation={operation} />}
    </Page>
  );
}
