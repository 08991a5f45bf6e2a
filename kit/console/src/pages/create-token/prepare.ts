// The create-token form's request: the kinds and their terms, Kit's field names in words, and the
// body built from the form (checked here first: amounts against the decimals).
import { checkAmount } from "../../amounts";
import type { CreateTokenInput } from "../../api";

export const KINDS = ["bond", "equity", "fund", "deposit"] as const;
export type Kind = (typeof KINDS)[number];
export const FREQUENCIES = ["annual", "semi_annual", "quarterly", "monthly", "none"] as const;

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
export const fieldLabel = (path: string) => FIELD_LABELS[path.replace(/\.\d+$/, "")] ?? path;

export function newIdempotencyKey(): string {
  return `console-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const text = (form: FormData, name: string) => String(form.get(name) ?? "").trim();
const countries = (value: string) =>
  value
    .split(/[\s,;]+/)
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean);

/** The request body, or why it cannot be sent (checked here first: amounts against the decimals). */
export function prepare(kind: Kind, form: FormData): string | CreateTokenInput {
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
