// The token's holders (indexed), largest balance first, each with its freezes: the whole wallet
// (it can neither send nor receive) or part of its balance. Each action shows the operation it
// created, live, on the holder's row.
import { type FormEvent, useState } from "react";
import { checkAmount } from "../../amounts";
import { type Holder, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { DataTable } from "../../components/DataTable";
import { Pager, useCursorPaging } from "../../components/Pager";
import { useLoad } from "../../hooks";
import { OperationLine, type TokenUnits } from "./OperationDetails";
import { useOperationRequest } from "./request";

const PAGE_SIZE = 25;

/** `refreshes` counts the times the index caught up with a confirmed operation: each reads the page again. */
export function HoldersCard({ address, units, refreshes }: { address: string; units: TokenUnits; refreshes: number }) {
  const paging = useCursorPaging(PAGE_SIZE, address);
  const { cursor } = paging;
  const holders = useLoad(
    () => rpc.tokens.holders({ address, cursor, limit: PAGE_SIZE }),
    [address, cursor, refreshes],
  );
  return (
    <Card heading="Holders" headingId="holders-title">
      <Alert>{holders.error}</Alert>
      <DataTable
        className="holders"
        columns={[
          "Wallet",
          { label: "Balance", numeric: true },
          { label: "Frozen part", numeric: true },
          "State",
          "Freeze",
        ]}
        busy={holders.loading}
        empty={holders.data?.items.length === 0 && "No one holds this token yet."}
      >
        {holders.data?.items.map((holder) => (
          <HolderRow key={holder.address} address={address} holder={holder} units={units} />
        ))}
      </DataTable>
      <Pager paging={paging} page={holders.data} noun="Holders" none="No holders" />
    </Card>
  );
}

function HolderRow({ address, holder, units }: { address: string; holder: Holder; units: TokenUnits }) {
  const wallet = holder.address;
  const { busy, error, setError, created, request } = useOperationRequest((path) =>
    path === "amount" ? "Amount" : path,
  );
  const [partial, setPartial] = useState(false);

  const freezeWallet = () =>
    request((idempotencyKey) =>
      rpc.tokens.operations[holder.frozen ? "unfreeze" : "freeze"]({ address, wallet, idempotencyKey }),
    );

  const freezePart = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    // Which button sent the form says which way.
    const kind = (event.nativeEvent as SubmitEvent).submitter?.getAttribute("value");
    const checked = checkAmount(String(new FormData(form).get("amount") ?? ""), units.decimals);
    if (!checked.ok) return setError(`Please check: Amount: ${checked.message}.`);
    const procedure = kind === "unfreeze" ? rpc.tokens.operations.unfreezePartial : rpc.tokens.operations.freezePartial;
    void request((idempotencyKey) => procedure({ address, wallet, amount: checked.amount, idempotencyKey })).then(
      (recorded) => {
        if (recorded) setPartial(false);
      },
    );
  };

  const amountId = `partial-${wallet}`;
  return (
    <tr>
      <td>
        <code>{wallet}</code>
      </td>
      <td className="number">{holder.balance.formatted}</td>
      <td className="number">{holder.frozenAmount.raw === "0" ? "—" : holder.frozenAmount.formatted}</td>
      <td>{holder.frozen ? <Badge tone="rejected">Frozen</Badge> : <Badge tone="approved">Active</Badge>}</td>
      <td>
        <div className="row-actions">
          <button
            type="button"
            disabled={busy}
            onClick={() => void freezeWallet()}
            aria-label={`${holder.frozen ? "Unfreeze" : "Freeze"} ${wallet}`}
          >
            {holder.frozen ? "Unfreeze wallet" : "Freeze wallet"}
          </button>
          {partial ? (
            <form onSubmit={freezePart} noValidate aria-label={`Freeze or unfreeze part of ${wallet}`}>
              <label htmlFor={amountId}>Amount</label>{" "}
              <input id={amountId} name="amount" inputMode="decimal" autoComplete="off" size={12} />{" "}
              <button type="submit" value="freeze" disabled={busy}>
                Freeze part
              </button>{" "}
              <button type="submit" value="unfreeze" disabled={busy}>
                Unfreeze part
              </button>{" "}
              <button type="button" onClick={() => setPartial(false)}>
                Cancel
              </button>
            </form>
          ) : (
            <button type="button" onClick={() => setPartial(true)} aria-label={`Freeze part of ${wallet}`}>
              Part…
            </button>
          )}
        </div>
        <Alert>{error}</Alert>
        {created && <OperationLine operation={created} units={units} />}
      </td>
    </tr>
  );
}
