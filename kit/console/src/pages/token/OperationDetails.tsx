// An operation in words: what it does (amounts in whole tokens, wallets shortened), where it stands,
// and who asked — for the token page's operations, its forms' outcomes, and the approvals page.
import type { ReactNode } from "react";
import { formatUnits, sumUnits } from "../../amounts";
import type { Me, OperationView } from "../../api";
import { OperationStatusBadge } from "../../components/Badge";
import { Hex } from "../../components/Hex";
import { OPERATION_KIND_LABELS, operationErrorText } from "../../format";
import { useOperationsLive } from "./live";

/** What amounts are written in: a token's decimals, and its symbol when it has one. */
export interface TokenUnits {
  decimals: number;
  symbol: string | null;
}

type Parameters = {
  recipients?: { to: string; amount: string }[];
  from?: string;
  to?: string;
  wallet?: string;
  amount?: string;
  lostWallet?: string;
  newWallet?: string;
};

export function OperationParameters({ operation, units }: { operation: OperationView; units: TokenUnits }) {
  const p = operation.parameters as Parameters;
  const amount = (raw: string | bigint | undefined) =>
    raw === undefined ? "?" : `${formatUnits(raw, units.decimals)}${units.symbol ? ` ${units.symbol}` : ""}`;
  switch (operation.kind) {
    case "mint": {
      const recipients = p.recipients ?? [];
      const [only] = recipients;
      if (recipients.length === 1 && only) {
        return (
          <>
            {amount(only.amount)} to <Hex value={only.to} />
          </>
        );
      }
      return (
        <>
          {amount(sumUnits(recipients.map((r) => r.amount)))} to {recipients.length} wallets
        </>
      );
    }
    case "burn":
      return (
        <>
          {amount(p.amount)} from <Hex value={p.from ?? ""} />
        </>
      );
    case "forced_transfer":
      return (
        <>
          {amount(p.amount)} from <Hex value={p.from ?? ""} /> to <Hex value={p.to ?? ""} />
        </>
      );
    case "freeze":
    case "unfreeze":
      return <Hex value={p.wallet ?? ""} />;
    case "freeze_partial":
    case "unfreeze_partial":
      return (
        <>
          {amount(p.amount)} of <Hex value={p.wallet ?? ""} />
        </>
      );
    case "recover":
      return (
        <>
          <Hex value={p.lostWallet ?? ""} /> → <Hex value={p.newWallet ?? ""} />
        </>
      );
    case "pause":
    case "unpause":
      return <>the whole token</>;
  }
}

/** Where the operation stands, in words beside its status. */
export function OperationState({ operation }: { operation: OperationView }) {
  const { status } = operation;
  let words: ReactNode;
  if (status === "awaiting_approval") words = "waiting for another of the token's issuers to approve it";
  else if (status === "pending") words = "queued to be sent";
  else if (status === "signed") words = "signed; being sent";
  else if (status === "submitted") {
    words = operation.txHash ? (
      <>
        sent as <Hex value={operation.txHash} />; waiting for its block
      </>
    ) : (
      "sent; waiting for its block"
    );
  } else if (status === "confirmed") {
    words = (
      <>
        in block {operation.blockNumber}
        {operation.txHash && (
          <>
            {" "}
            (<Hex value={operation.txHash} />)
          </>
        )}
      </>
    );
  } else if (status === "failed") {
    words = operation.error ? operationErrorText(operation.error) : "it failed";
  } else {
    words = `refused${operation.decisionReason ? `: ${operation.decisionReason}` : ""}`;
  }
  return (
    <span className="operation-state">
      <OperationStatusBadge status={status} /> <span className={status === "failed" ? "error" : "muted"}>{words}</span>
    </span>
  );
}

export function requesterName(me: Me, userId: string): string {
  return userId === me.user.id ? "You" : `Issuer ${userId.slice(0, 8)}`;
}

/** A form's outcome: the operation just requested, and where it stands now (live). */
export function OperationLine({ operation, units }: { operation: OperationView; units: TokenUnits }) {
  const now = useOperationsLive().latest(operation);
  return (
    <p role="status" className="operation-line">
      {OPERATION_KIND_LABELS[now.kind]}: <OperationParameters operation={now} units={units} /> —{" "}
      <OperationState operation={now} />
    </p>
  );
}
