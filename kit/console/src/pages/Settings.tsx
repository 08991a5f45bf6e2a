// System settings (admin): base currency, how long a KYC approval lasts, how long KYC records and
// drafts are kept, rate providers in order.
import { type FormEvent, useState } from "react";
import { FX_PROVIDERS, rpc, type SystemSettings } from "../api";
import { Alert } from "../components/Alert";
import { Options } from "../components/Options";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

type Provider = (typeof FX_PROVIDERS)[number];

export function SettingsPage() {
  const settings = useLoad(() => rpc.settings.system.get(), []);
  const currencies = useLoad(() => rpc.fx.currencies(), []);

  return (
    <Page heading="System settings" headingId="settings-title" tabTitle="Settings">
      <Alert>{settings.error}</Alert>
      {settings.data && (
        <SettingsForm
          key={settings.data.updatedAt ?? "defaults"}
          settings={settings.data}
          currencies={currencies.data?.items.map((c) => c.code) ?? [settings.data.baseCurrency]}
          onSaved={settings.reload}
        />
      )}
    </Page>
  );
}

function SettingsForm({
  settings,
  currencies,
  onSaved,
}: {
  settings: SystemSettings;
  currencies: string[];
  onSaved: () => Promise<void>;
}) {
  const [providers, setProviders] = useState<Provider[]>(settings.fxProviders);
  const { busy, outcome, setOutcome, run } = useAction(onSaved);

  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    if (providers.length === 0) return setOutcome({ error: true, text: "Keep at least one rate provider." });
    void run(async () => {
      await rpc.settings.system.update({
        baseCurrency: String(form.get("baseCurrency")),
        kycValidityDays: Number(form.get("kycValidityDays")),
        kycApprovalsRequired: Number(form.get("kycApprovalsRequired")),
        retentionKycYearsAfterEnd: Number(form.get("retentionKycYearsAfterEnd")),
        retentionDraftDays: Number(form.get("retentionDraftDays")),
        fxProviders: providers,
      });
      return "Saved.";
    });
  };

  return (
    <form onSubmit={save} className="card settings">
      <label>
        Base currency
        <select name="baseCurrency" defaultValue={settings.baseCurrency}>
          <Options values={currencies} />
        </select>
      </label>
      <label>
        KYC approval valid for (days)
        <input
          name="kycValidityDays"
          type="number"
          min={1}
          max={3650}
          required
          defaultValue={settings.kycValidityDays}
        />
      </label>
      <label>
        Approvals per KYC application
        <select name="kycApprovalsRequired" defaultValue={String(settings.kycApprovalsRequired)}>
          <option value="1">1: the reviewer decides alone</option>
          <option value="2">2: a second reviewer confirms each approval</option>
        </select>
      </label>
      <p className="muted">A high-risk application always needs two approvals.</p>
      <label>
        Keep KYC records after the relationship ends (years)
        <input
          name="retentionKycYearsAfterEnd"
          type="number"
          min={1}
          max={30}
          required
          defaultValue={settings.retentionKycYearsAfterEnd}
        />
      </label>
      <label>
        Keep untouched KYC drafts (days)
        <input
          name="retentionDraftDays"
          type="number"
          min={1}
          max={3650}
          required
          defaultValue={settings.retentionDraftDays}
        />
      </label>
      <p className="muted">Past these, the retention job erases them; AML rules usually ask for 5 years.</p>
      <ProviderOrder providers={providers} setProviders={setProviders} />
      <Outcome outcome={outcome} />
      <p className="muted">
        Last changed {formatTime(settings.updatedAt)}
        {settings.updatedBy && ` by ${settings.updatedByEmail ?? "an account since deleted"}`}.
      </p>
      <button type="submit" className="primary" disabled={busy}>
        Save settings
      </button>
    </form>
  );
}

/** The rate providers in order of preference: move one up or down, remove it, add one not listed. */
function ProviderOrder({
  providers,
  setProviders,
}: {
  providers: Provider[];
  setProviders: (next: Provider[]) => void;
}) {
  const move = (index: number, by: number) => {
    const next = [...providers];
    const [item] = next.splice(index, 1);
    if (item) next.splice(index + by, 0, item);
    setProviders(next);
  };
  const toggle = (provider: Provider, on: boolean) =>
    setProviders(on ? [...providers, provider] : providers.filter((p) => p !== provider));
  return (
    <fieldset>
      <legend>Exchange-rate providers, most preferred first</legend>
      <ol className="providers">
        {providers.map((provider, index) => (
          <li key={provider}>
            <span>{provider}</span>
            <button
              type="button"
              disabled={index === 0}
              onClick={() => move(index, -1)}
              aria-label={`Move ${provider} up`}
            >
              ↑
            </button>
            <button
              type="button"
              disabled={index === providers.length - 1}
              onClick={() => move(index, 1)}
              aria-label={`Move ${provider} down`}
            >
              ↓
            </button>
            <button type="button" onClick={() => toggle(provider, false)} aria-label={`Remove ${provider}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      {FX_PROVIDERS.filter((p) => !providers.includes(p)).map((provider) => (
        <button key={provider} type="button" onClick={() => toggle(provider, true)}>
          Add {provider}
        </button>
      ))}
    </fieldset>
  );
}
