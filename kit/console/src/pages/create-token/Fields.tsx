// The create-token form's field groups: identity, the terms of each kind, compliance rules.
import { FREQUENCIES, type Kind } from "./prepare";

export function IdentityFields() {
  return (
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
  );
}

/** The terms fixed at creation: only the chosen kind's. */
export function TermsFields({ kind }: { kind: Kind }) {
  return (
    <>
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
    </>
  );
}

export function ComplianceFields() {
  return (
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
  );
}
