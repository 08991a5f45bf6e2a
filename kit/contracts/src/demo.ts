// The demo `bun run dev` and the tests start from: two tokens (a fractional bond, a whole-share
// equity) and, when investors are given, their verification, mints and transfers.
import { type Address, type LocalAccount, parseUnits } from "viem";
import type { ChainClients } from "./clients";
import type { ComplianceSpec } from "./creation";
import type { InvestorDeployment, TokenDeployment } from "./deployment";
import { KYC_CLAIM_TOPIC, registerInvestor } from "./identities";
import { mint, transfer } from "./tokens";

export interface DemoTokenSpec {
  kind: string;
  name: string;
  symbol: string;
  decimals: number;
  /** ISO 6166; the factory salt (as `tokens.create` uses it). */
  isin?: string;
  compliance?: ComplianceSpec;
  /** The kind's terms, as `tokens.create` records them in the metadata document. */
  terms?: Record<string, string | boolean>;
  /** Minted to the demo investors by index, in whole units. */
  mints: { investor: number; amount: string }[];
  /** Then transferred between them (sent by the `from` investor's own wallet). */
  transfers: { from: number; to: number; amount: string }[];
}

/**
 * The demo: a bond in fractional units (18 decimals, like most EVM tokens: exercises exact decimal
 * formatting) and an equity in whole shares (0 decimals).
 */
export const DEMO_TOKENS: DemoTokenSpec[] = [
  {
    kind: "bond",
    name: "Kit Bond 2030",
    symbol: "KB30",
    decimals: 18,
    isin: "XS2030000009",
    terms: {
      kind: "bond",
      faceValue: "100",
      currency: "EUR",
      maturityDate: "2030-12-31",
      couponRate: "3.25",
      couponFrequency: "annual",
    },
    mints: [
      { investor: 0, amount: "1000" },
      { investor: 1, amount: "500" },
      { investor: 2, amount: "250" },
    ],
    transfers: [
      { from: 0, to: 1, amount: "100" },
      { from: 1, to: 2, amount: "25.5" },
      { from: 2, to: 3, amount: "10.125" },
    ],
  },
  {
    kind: "equity",
    name: "Kit Equity",
    symbol: "KEQ",
    decimals: 0,
    isin: "BE000KITEQ05",
    terms: { kind: "equity", shareClass: "A", votingRights: true },
    mints: [
      { investor: 0, amount: "10000" },
      { investor: 3, amount: "5000" },
    ],
    transfers: [
      { from: 0, to: 2, amount: "1200" },
      { from: 3, to: 1, amount: "300" },
    ],
  },
];

/** ISO 3166-1 numeric: Belgium, France, Germany, Netherlands, Luxembourg. */
const DEMO_COUNTRIES = [56, 250, 276, 528, 442];

export interface SeedDemoOptions {
  /** The tokens' owner and agent: registers the investors and mints. */
  agent: LocalAccount;
  claimSigner: LocalAccount;
  idFactory: Address;
  claimIssuer: Address;
  tokens: TokenDeployment[];
  /** The specs `tokens` were deployed from, in the same order. */
  specs: DemoTokenSpec[];
  investors: LocalAccount[];
  log: (line: string) => void;
}

/** Verifies the demo investors, then mints to them and has them trade as each token's spec says. */
export async function seedDemoInvestors(clients: ChainClients, o: SeedDemoOptions): Promise<InvestorDeployment[]> {
  const investors: InvestorDeployment[] = [];
  const firstToken = o.tokens[0];
  for (const [index, account] of o.investors.entries()) {
    if (!firstToken) break;
    // The registry storage is shared, so registering through the first token covers all of them.
    const { wallet, identity, country } = await registerInvestor(clients, {
      agent: o.agent,
      claimSigner: o.claimSigner,
      idFactory: o.idFactory,
      claimIssuer: o.claimIssuer,
      identityRegistry: firstToken.identityRegistry,
      topic: KYC_CLAIM_TOPIC,
      wallet: account.address,
      country: DEMO_COUNTRIES[index % DEMO_COUNTRIES.length] ?? 56,
    });
    investors.push({ wallet, identity, country });
  }

  for (const [i, token] of o.tokens.entries()) {
    const spec = o.specs[i];
    if (!spec || o.investors.length === 0) continue;
    const units = (amount: string) => parseUnits(amount, token.decimals);
    for (const m of spec.mints) {
      const to = o.investors[m.investor];
      if (to) await mint(clients, o.agent, token.address, to.address, units(m.amount));
    }
    for (const t of spec.transfers) {
      const from = o.investors[t.from];
      const to = o.investors[t.to];
      if (from && to) await transfer(clients, from, token.address, to.address, units(t.amount));
    }
  }
  if (o.investors.length > 0) o.log(`${investors.length} investors verified, minted to, and trading`);
  return investors;
}
