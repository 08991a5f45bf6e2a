// Exchange rates: the latest from a base (stale ones flagged), and for admins a manual override
// and "refresh now" (queues the fx.refresh job; the table updates once the worker has run it).
import { type FormEvent, useEffect, useState } from "react";
import { can, type Me, rpc } from "../api";
import { Alert } from "../components/Alert";
import { Badge } from "../components/Badge";
import { DataTable } from "../components/DataTable";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { countOf, formatTime } from "../format";
import { useLoad } from "../hooks";

export function RatesPage({ me }: { me: Me }) {
  const [base, setBase] = useState<string>();
  const currencies = useLoad(() => rpc.fx.currencies(), []);
  const rates = useLoad(async () => (base ? rpc.fx.latest({ base }) : undefined), [base]);
  // Reloaded with the rates: a refresh that failed explains an empty or stale table.
  const lastRefresh = useLoad(() => rpc.fx.refreshStatus(), [rates.data]);
  const manage = can(me, "fx", "manage");
  // The system's base currency when the caller may read it; EUR otherwise.
  useEffect(() => {
    if (can(me, "settings", "manage_system")) {
      rpc.settings.system.get().then(
        (s) => setBase((b) => b ?? s.baseCurrency),
        () => setBase((b) => b ?? "EUR"),
      );
    } else {
      setBase((b) => b ?? "EUR");
    }
  }, [me]);

  const stale = rates.data?.rates.filter((r) => r.stale).length ?? 0;

  return (
    <Page heading="Exchange rates" headingId="rates-title">
      <div className="filters">
        <label>
          Base currency
          <select value={base ?? ""} onChange={(e) => setBase(e.target.value)}>
            {(currencies.data?.items ?? (base ? [{ code: base, name: base }] : [])).map((c) => (
              <option key={c.code} value={c.code}>
                {c.code} — {c.name}
              </option>
            ))}
          </select>
        </label>
        {manage && <RefreshButton onQueued={rates.reload} />}
      </div>
      {lastRefresh.data && !lastRefresh.data.ok && <UnreachableProviders outcome={lastRefresh.data} />}
      <Alert>
        {rates.errorCode === "NOT_FOUND"
          ? `No rates from ${base} yet: the worker fetches them every few minutes${manage ? "; refresh now or set one by hand" : ""}.`
          : rates.error}
      </Alert>
      {rates.data && (
        <p className="muted">
          {countOf(rates.data.rates.length, "rate")}
          {stale > 0 ? ` · ${stale} stale (no fresh quote; the newest known rate is shown)` : " · all fresh"}
        </p>
      )}
      <div className="columns">
        <DataTable
          columns={["Pair", { label: "Rate", numeric: true }, "Provider", "Effective", "Fresh until"]}
          busy={rates.loading}
          empty={
            rates.data?.rates.length === 0 && (
              <>No rates yet: the worker fetches them every few minutes{manage ? ", or refresh now" : ""}.</>
            )
          }
        >
          {rates.data?.rates.map((rate) => (
            <tr key={rate.quote} className={rate.stale ? "stale" : undefined}>
              <td>
                {rate.base}/{rate.quote}
              </td>
              <td className="number">{rate.rate}</td>
              <td>
                {rate.provider === "manual" ? `manual, expires ${formatTime(rate.expiresAt)}` : rate.provider}
                {rate.derivation !== "direct" && (
                  <span className="muted"> ({rate.derivation === "cross" ? `cross via ${rate.via}` : "inverse"})</span>
                )}
              </td>
              <td>{formatTime(rate.effectiveAt)}</td>
              <td>{rate.stale ? <Badge tone="rejected">Stale</Badge> : formatTime(rate.expiresAt)}</td>
            </tr>
          ))}
        </DataTable>
        {manage && <ManualRateForm base={base} onSaved={rates.reload} />}
      </div>
    </Page>
  );
}

function RefreshButton({ onQueued }: { onQueued: () => Promise<void> }) {
  const { busy, outcome, run } = useAction(() => setTimeout(() => void onQueued(), 3_000));
  const refresh = () =>
    run(async () => {
      const { jobId } = await rpc.fx.refresh();
      return `Refresh queued (job ${jobId}); rates update once a worker has run it.`;
    });
  return (
    <>
      <button type="button" onClick={() => void refresh()} disabled={busy}>
        Refresh now
      </button>
      <Outcome outcome={outcome} inline />
    </>
  );
}

function ManualRateForm({ base, onSaved }: { base: string | undefined; onSaved: () => Promise<void> }) {
  const { busy, outcome, run } = useAction(onSaved);
  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void run(async () => {
      const saved = await rpc.fx.setManual({
        base: String(form.get("base")),
        quote: String(form.get("quote")),
        rate: String(form.get("rate")).trim(),
      });
      return `${saved.base}/${saved.quote} = ${saved.rate} (manual) until ${formatTime(saved.expiresAt)}.`;
    });
  };
  return (
    <form className="card manual-rate" onSubmit={save} aria-labelledby="manual-title">
      <h2 id="manual-title">Manual override</h2>
      <p className="muted">Answers first for its pair until it expires.</p>
      <label>
        Base
        <input name="base" required maxLength={3} defaultValue={base} key={base} size={4} />
      </label>
      <label>
        Quote
        <input name="quote" required maxLength={3} size={4} placeholder="USD" />
      </label>
      <label>
        Rate (units of quote per one base)
        <input name="rate" required inputMode="decimal" placeholder="1.0843" />
      </label>
      <Outcome outcome={outcome} />
      <button type="submit" className="primary" disabled={busy}>
        Set rate
      </button>
    </form>
  );
}

type RefreshOutcome = NonNullable<Awaited<ReturnType<typeof rpc.fx.refreshStatus>>>;

/** Why the table is empty or stale: the last refresh reached no provider. */
function UnreachableProviders({ outcome }: { outcome: RefreshOutcome }) {
  const failures = outcome.failed.map((f) => `${f.provider}: ${f.reason}`).join("; ");
  return (
    <Alert>
      The rate providers could not be reached at the last refresh ({formatTime(outcome.at)}
      {failures ? `; ${failures}` : ""}).
      {outcome.snapshotDate
        ? ` The rates below are the ECB reference rates of ${outcome.snapshotDate} bundled with Kit, marked stale, until a provider answers.`
        : " The newest rates Kit already had keep answering, marked stale once they expire."}
    </Alert>
  );
}
