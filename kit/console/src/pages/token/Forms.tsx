// The token-wide servicing forms: mint (one or several recipients), burn, forced transfer, and
// pausing. Holder-by-holder actions (freezes) are in Holders.tsx.
import { useRef, useState } from "react";
import { checkAddress, checkAmount } from "../../amounts";
import { type OperationKind, type OperationPolicy, rpc } from "../../api";
import type { TokenUnits } from "./OperationDetails";
import { OperationForm } from "./OperationForm";

/**
 * Kit's limit on the recipients of one mint (one batchMint transaction): 500 first-time recipients
 * exceed a 30M-gas block (docs/tokens.md); more go as a CSV batch.
 */
const MAX_RECIPIENTS = 200;

/** What the forms need of the token's four-eyes policy. */
export type Policy = Pick<OperationPolicy, "approvalKinds" | "mintThreshold">;

interface FormProps {
  address: string;
  units: TokenUnits;
  policy: Policy;
}

const text = (form: FormData, name: string) => String(form.get(name) ?? "");

/** Collects what is wrong with a form's values, field by field, into one sentence. */
function problems() {
  const found: string[] = [];
  return {
    address(label: string, value: string) {
      const problem = checkAddress(value);
      if (problem) found.push(`${label}: ${problem}`);
      return value.trim();
    },
    amount(label: string, value: string, decimals: number) {
      const checked = checkAmount(value, decimals);
      if (!checked.ok) found.push(`${label}: ${checked.message}`);
      return checked.ok ? checked.amount : "";
    },
    /** The sentence, or undefined when nothing is wrong. */
    sentence: () => (found.length > 0 ? `Please check: ${found.join("; ")}.` : undefined),
  };
}

const needsApproval = (policy: Policy, kind: OperationKind) => policy.approvalKinds.includes(kind);
const APPROVAL_NOTE = "Under this token's policy a second of its issuers must approve it before it is sent.";

export function MintForm({ address, units, policy }: FormProps) {
  const nextRow = useRef(1);
  const [rows, setRows] = useState<number[]>([0]);
  const several = rows.length > 1;
  const recipientLabel = (index: number) => (several ? `Recipient ${index + 1}` : "Recipient");

  const prepare = (form: FormData) => {
    const check = problems();
    const recipients = rows.map((row, index) => ({
      to: check.address(`${recipientLabel(index)} wallet`, text(form, `to-${row}`)),
      amount: check.amount(`${recipientLabel(index)} amount`, text(form, `amount-${row}`), units.decimals),
    }));
    return (
      check.sentence() ??
      ((idempotencyKey: string) => rpc.tokens.operations.mint({ address, recipients, idempotencyKey }))
    );
  };
  const fieldLabel = (path: string) => {
    const match = /^recipients\.(\d+)\.(to|amount)$/.exec(path);
    return match ? `${recipientLabel(Number(match[1]))} ${match[2] === "to" ? "wallet" : "amount"}` : path;
  };
  const threshold = policy.mintThreshold;
  const note = needsApproval(policy, "mint")
    ? APPROVAL_NOTE
    : threshold
      ? `A mint of more than ${threshold}${units.symbol ? ` ${units.symbol}` : ""} in all waits for a second issuer's approval.`
      : undefined;

  return (
    <OperationForm
      heading="Mint"
      headingId="mint-title"
      submitLabel="Mint"
      units={units}
      note={note}
      fieldLabel={fieldLabel}
      prepare={prepare}
      onSent={() => setRows([nextRow.current++])}
    >
      <p className="muted">To verified wallets only; several recipients go in one transaction.</p>
      {rows.map((row, index) => (
        <div className="recipient" key={row}>
          <label>
            {recipientLabel(index)} wallet
            <input name={`to-${row}`} autoComplete="off" spellCheck={false} placeholder="0x…" size={44} />
          </label>
          <label>
            {several ? `Amount ${index + 1}` : "Amount"}
            <input name={`amount-${row}`} inputMode="decimal" autoComplete="off" placeholder="100" size={14} />
          </label>
          {several && (
            <button
              type="button"
              onClick={() => setRows(rows.filter((r) => r !== row))}
              aria-label={`Remove recipient ${index + 1}`}
            >
              Remove
            </button>
          )}
        </div>
      ))}
      <button
        type="button"
        className="link"
        disabled={rows.length >= MAX_RECIPIENTS}
        onClick={() => setRows([...rows, nextRow.current++])}
      >
        Add a recipient
      </button>
    </OperationForm>
  );
}

export function BurnForm({ address, units, policy }: FormProps) {
  const prepare = (form: FormData) => {
    const check = problems();
    const from = check.address("Wallet", text(form, "from"));
    const amount = check.amount("Amount", text(form, "amount"), units.decimals);
    return (
      check.sentence() ??
      ((idempotencyKey: string) => rpc.tokens.operations.burn({ address, from, amount, idempotencyKey }))
    );
  };
  return (
    <OperationForm
      heading="Burn"
      headingId="burn-title"
      submitLabel="Burn"
      danger
      units={units}
      note={needsApproval(policy, "burn") ? APPROVAL_NOTE : "At most the wallet's balance."}
      fieldLabel={(path) => ({ from: "Wallet", amount: "Amount" })[path] ?? path}
      prepare={prepare}
    >
      <AddressField name="from" label="Wallet" />
      <AmountField />
    </OperationForm>
  );
}

export function ForcedTransferForm({ address, units, policy }: FormProps) {
  const prepare = (form: FormData) => {
    const check = problems();
    const from = check.address("From", text(form, "from"));
    const to = check.address("To", text(form, "to"));
    const amount = check.amount("Amount", text(form, "amount"), units.decimals);
    return (
      check.sentence() ??
      ((idempotencyKey: string) => rpc.tokens.operations.forcedTransfer({ address, from, to, amount, idempotencyKey }))
    );
  };
  return (
    <OperationForm
      heading="Forced transfer"
      headingId="forced-title"
      submitLabel="Request forced transfer"
      danger
      units={units}
      note={
        needsApproval(policy, "forced_transfer")
          ? APPROVAL_NOTE
          : "Moves tokens without the holder's signature, to a verified wallet."
      }
      fieldLabel={(path) => ({ from: "From", to: "To", amount: "Amount" })[path] ?? path}
      prepare={prepare}
    >
      <AddressField name="from" label="From" />
      <AddressField name="to" label="To" />
      <AmountField />
    </OperationForm>
  );
}

/** Pause (holders can no longer transfer) or unpause, as the token's state asks for. */
export function PauseForm({ address, units, policy, paused }: FormProps & { paused: boolean }) {
  const kind = paused ? "unpause" : "pause";
  return (
    <OperationForm
      heading="Trading"
      headingId="pause-title"
      submitLabel={paused ? "Unpause the token" : "Pause the token"}
      danger={!paused}
      units={units}
      note={needsApproval(policy, kind) ? APPROVAL_NOTE : undefined}
      prepare={() => (idempotencyKey: string) => rpc.tokens.operations[kind]({ address, idempotencyKey })}
    >
      <p>
        {paused
          ? "The token is paused: holders cannot transfer it (mints, burns and forced transfers still work)."
          : "The token is active: verified holders may transfer it."}
      </p>
    </OperationForm>
  );
}

function AddressField({ name, label }: { name: string; label: string }) {
  return (
    <label>
      {label}
      <input name={name} autoComplete="off" spellCheck={false} placeholder="0x…" size={44} />
    </label>
  );
}

function AmountField() {
  return (
    <label>
      Amount
      <input name="amount" inputMode="decimal" autoComplete="off" placeholder="10" size={14} />
    </label>
  );
}
