// The queue's filters, kept in the address: status, risk level, country of residence, name, assigned to me.
import { type FormEvent, useState } from "react";
import type { KycStatus, RiskLevel } from "../../api";
import { Alert } from "../../components/Alert";
import { Options } from "../../components/Options";
import { RISK_LABELS, STATUS_LABELS } from "../../format";
import { navigate, useLocation } from "../../router";

const FILTER_STATUSES = Object.keys(STATUS_LABELS).filter((s) => s !== "draft") as Exclude<KycStatus, "draft">[];

export interface QueueFilter {
  status: Exclude<KycStatus, "draft"> | "";
  risk: RiskLevel | "";
  country: string;
  mine: boolean;
  q: string;
}

export function QueueFilters({ status, risk, country, mine, q }: QueueFilter) {
  const { search } = useLocation();
  const setFilter = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    const query = next.toString();
    navigate(query ? `/?${query}` : "/", { replace: true });
  };

  const [searchError, setSearchError] = useState<string>();
  const applyText = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get("q") ?? "").trim();
    const code = String(form.get("country") ?? "")
      .trim()
      .toUpperCase();
    if (name.length > 0 && name.length < 3) return setSearchError("Type at least 3 letters of the name.");
    if (code && !/^[A-Z]{2}$/.test(code)) return setSearchError("Use a two-letter country code such as FR.");
    setSearchError(undefined);
    setFilter({ q: name, country: code });
  };

  return (
    <>
      <form className="filters" onSubmit={applyText} aria-label="Filter the queue">
        <label>
          Status
          <select value={status} onChange={(e) => setFilter({ status: e.target.value })}>
            <option value="">Open work (submitted, in review, awaiting second approval)</option>
            <Options values={FILTER_STATUSES} label={(s) => STATUS_LABELS[s]} />
          </select>
        </label>
        <label>
          Risk
          <select value={risk} onChange={(e) => setFilter({ risk: e.target.value })}>
            <option value="">Any</option>
            <Options values={Object.keys(RISK_LABELS) as RiskLevel[]} label={(r) => RISK_LABELS[r]} />
          </select>
        </label>
        <label>
          Country of residence
          <input name="country" defaultValue={country} key={`c${country}`} maxLength={2} placeholder="FR" size={4} />
        </label>
        <label>
          Name
          <input name="q" type="search" defaultValue={q} key={`q${q}`} placeholder="at least 3 letters" />
        </label>
        <button type="submit">Search</button>
        <label className="inline">
          <input type="checkbox" checked={mine} onChange={(e) => setFilter({ mine: e.target.checked ? "1" : "" })} />
          Assigned to me
        </label>
        {(status || risk || country || q || mine) && (
          <button type="button" className="link" onClick={() => navigate("/", { replace: true })}>
            Clear filters
          </button>
        )}
      </form>
      <Alert>{searchError}</Alert>
    </>
  );
}
