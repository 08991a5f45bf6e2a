// Create a token (tokens.create): its kind and terms, identity (name, symbol, decimals, ISIN) and
// compliance rules. Kit answers with the creation operation at once; this page follows it
// (tokens.operations.get, twice a second) until the token is deployed and unpaused, then links to
// the new token's page. Kit's refusals are said in words, naming the field.
import { type FormEvent, useEffect, useRef, useState } from "react";
import { checkAmount } from "../amounts";
import { type CreateTokenInput, describeError, type OperationView, rpc } from "../api";
import { Alert } from "../components/Alert";
import { Card } from "../components/Card";
import { Page } from "../components/Page";
import { OPERATION_STATUS_LABELS } from "../format";
import { Link } from "../router";

const KINDS = ["bond", "equity", "fund", "deposit"] as const;
type Kind = (typeof KINDS)[number];
const FREQUENCIES = ["annual", "semi_annual", "quarterly", "monthly", "none"] as const;

const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  symbol: "Symbol",
  decimals: "Decimals",
  isin: "ISIN",
  faceValue: "Face value",
  currency: "Currency",
  maturityDate: "Maturity date",
  couponRate: "Coupon rate",
  couponFrequency: "Coupon frequency",
  shareClass: "Share class",
  managementFee: "Management fee",
  navCurrency: "NAV currency",
  backingCurrency: "Backing currency",
  "compliance.allowCountries": "Allowed countries",
  "compliance.blockCountries": "Blocked countries",
  "compliance.maxBalancePerInvestor": "Max balance per investor",
  "compliance.supplyCap": "Supply cap",
};
const fieldLabel = (path: string) => FIELD_LABELS[path.replace(/\.\d+$/, "")] ?? path;

function newIdempotencyKey(): string {
  return `console-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const text = (form: FormData, name: string) => String(form.get(name) ?? "").trim();
const countries = (value: string) =>
  value
    .split(/[\s,;]+/)
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean);

/** The request body, or why it cannot be sent (checked here first: amounts against the decimals). */
function prepare(kind: Kind, form: FormData): string | CreateTokenInput {
  const found: string[] = [];
  const decimals = Number(text(form, "decimals"));
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) found.push("Decimals: a whole number from 0 to 18");
  const amount = (label: string, name: string) => {
    const value = text(form, name);
    if (!value) return undefined;
    const checked = checkAmount(value, Number.isInteger(decimals) ? decimals : 18);
    if (!checked.ok) found.push(`${label}: ${checked.message}`);
    return value;
  };
  const allow = countries(text(form, "allowCountries"));
  const block = countries(text(form, "blockCountries"));
  const compliance = {
    ...(allow.length ? { allowCountries: allow } : {}),
    ...(block.length ? { blockCountries: block } : {}),
    maxBalancePerInvestor: amount("Max balance per investor", "maxBalancePerInvestor"),
    supplyCap: amount("Supply cap", "supplyCap"),
    transferApproval: form.get("transferApproval") === "on",
  };
  if (found.length > 0) return `Please check: ${found.join("; ")}.`;
  const description = text(form, "description");
  const terms: Record<Kind, Record<string, unknown>> = {
    bond: {
      faceValue: text(form, "faceValue"),
      currency: text(form, "currency"),
      maturityDate: text(form, "maturityDate"),
      couponRate: text(form, "couponRate"),
      couponFrequency: text(form, "couponFrequency"),
    },
    equity: { shareClass: text(form, "shareClass"), votingRights: form.get("votingRights") === "on" },
    fund: { managementFee: text(form, "managementFee"), navCurrency: text(form, "navCurrency") },
    deposit: { backingCurrency: text(form, "backingCurrency") },
  };
  return {
    kind,
    name: text(form, "name"),
    symbol: text(form, "symbol"),
    decimals,
    isin: text(form, "isin"),
    ...(description ? { description } : {}),
    compliance,
    ...terms[kind],
  } as CreateTokenInput;
}

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
          <fieldset>
            <legend>Identity</legend>
            <label>
              Name
              <input name="name" autoComplete="off" size={32} />
            </label>
            <label>
              Symbol
              <input name="symbol" autoComplete="off" size={12} />
            </label>
            <label>
              Decimals
              <input name="decimals" inputMode="numeric" defaultValue="2" size={4} />
            </label>
            <label>
              ISIN
              <input name="isin" autoComplete="off" spellCheck={false} placeholder="XS2030000009" size={14} />
            </label>
            <label>
              Description
              <input name="description" autoComplete="off" size={48} />
            </label>
          </fieldset>
          {kind === "bond" && (
            <fieldset>
              <legend>Bond terms</legend>
              <label>
                Face value
                <input name="faceValue" inputMode="decimal" placeholder="1000" size={12} />
              </label>
              <label>
                Currency
                <input name="currency" defaultValue="EUR" size={5} />
              </label>
              <label>
                Maturity date
                <input name="maturityDate" type="date" />
              </label>
              <label>
                Coupon rate
                <input name="couponRate" inputMode="decimal" placeholder="4.5" size={6} />
              </label>
              <label>
                Coupon frequency
                <select name="couponFrequency" defaultValue="annual">
                  {FREQUENCIES.map((f) => (
                    <option key={f} value={f}>
                      {f.replace("_", "-")}
                    </option>
                  ))}
                </select>
              </label>
            </fieldset>
          )}
          {kind === "equity" && (
            <fieldset>
              <legend>Equity terms</legend>
              <label>
                Share class
                <input name="shareClass" defaultValue="A" size={10} />
              </label>
              <label>
                <input name="votingRights" type="checkbox" defaultChecked /> Voting rights
              </label>
            </fieldset>
          )}
          {kind === "fund" && (
            <fieldset>
              <legend>Fund terms</legend>
              <label>
                Management fee
                <input name="managementFee" inputMode="decimal" placeholder="0.75" size={6} />
              </label>
              <label>
                NAV currency
                <input name="navCurrency" defaultValue="EUR" size={5} />
              </label>
            </fieldset>
          )}
          {kind === "deposit" && (
            <fieldset>
              <legend>Deposit terms</legend>
              <label>
                Backing currency
                <input name="backingCurrency" defaultValue="EUR" size={5} />
              </label>
            </fieldset>
          )}
          <fieldset>
            <legend>Compliance</legend>
            <label>
              Allowed countries
              <input name="allowCountries" placeholder="BE, FR, DE" size={24} />
            </label>
            <label>
              Blocked countries
              <input name="blockCountries" placeholder="US" size={24} />
            </label>
            <label>
              Max balance per investor
              <input name="maxBalancePerInvestor" inputMode="decimal" size={14} />
            </label>
            <label>
              Supply cap
              <input name="supplyCap" inputMode="decimal" size={14} />
            </label>
            <label>
              <input name="transferApproval" type="checkbox" /> Transfers need the agent's approval
            </label>
          </fieldset>
          <Alert id="create-token-error">{error}</Alert>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Sending…" : "Create token"}
          </button>
        </form>
      </Card>
      {operation && (
        <Card heading="Creation" headingId="create-token-progress">
          <p role="status">
            {OPERATION_STATUS_LABELS[operation.status]}
            {operation.status === "failed" && operation.error ? `: ${operation.error.message}` : ""}
          </p>
          <p>
            Address <code>{operation.token}</code>
          </p>
          {operation.status === "confirmed" && <Link to={`/tokens/${operation.token}`}>Open the new token</Link>}
        </Card>
      )}
    </Page>
  );
}
