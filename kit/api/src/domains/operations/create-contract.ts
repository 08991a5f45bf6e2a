// tokens.create (POST /api/tokens): a new ERC-3643 token, one of four kinds with terms of its own,
// its compliance rules and its four-eyes policy. Answered 202 with the creation operation; the
// outbox deploys it (create-steps.ts).
import { z } from "zod";
import { countryCode, currencyCode } from "../../contract-fields";
import { base } from "../../rpc/base";
import { tokenAmount } from "../tokens/contract";
import { isin, text } from "../tokens/contract-metadata";
import { accepted, idempotencyKey } from "./contract";
import { OPERATION_KINDS } from "./contract-values";

const TOKEN_KINDS = ["bond", "equity", "fund", "deposit"] as const;
const COUPON_FREQUENCIES = ["none", "annual", "semi_annual", "quarterly", "monthly"] as const;
/** A management fee above this (percent a year) is a typing error, not a fund. */
const MAX_MANAGEMENT_FEE = 10;
const MAX_COUNTRIES = 194;

/** A non-negative decimal string with at most `fraction` digits after the point, at most `max`. */
function decimal(what: string, options: { fraction: number; max?: number; positive?: boolean }) {
  const pattern = new RegExp(`^\\d{1,30}(\\.\\d{1,${options.fraction}})?$`);
  let field = z
    .string({ error: `${what} is required: a decimal string such as 5.25` })
    .trim()
    .regex(
      pattern,
      `${what} must be a plain decimal string such as 5.25 (at most ${options.fraction} decimals, no sign or exponent)`,
    );
  if (options.positive) field = field.refine((v) => !pattern.test(v) || /[1-9]/.test(v), `${what} must be above 0`);
  const max = options.max;
  if (max !== undefined) {
    field = field.refine(
      (v) => {
        if (!pattern.test(v)) return true;
        const [whole = "0", fraction = ""] = v.split(".");
        return BigInt(whole) < BigInt(max) || (BigInt(whole) === BigInt(max) && /^0*$/.test(fraction));
      },
      { message: `${what} must be at most ${max}` },
    );
  }
  return field;
}

const today = () => new Date().toISOString().slice(0, 10);

const complianceInput = z
  .object({
    allowCountries: z
      .array(countryCode)
      .max(MAX_COUNTRIES, `at most ${MAX_COUNTRIES} countries`)
      .optional()
      .meta({ description: "Only investors registered in these countries may receive the token (CountryAllowModule)" }),
    blockCountries: z
      .array(countryCode)
      .max(MAX_COUNTRIES, `at most ${MAX_COUNTRIES} countries`)
      .optional()
      .meta({ description: "No investor registered in these countries may receive it (CountryRestrictModule)" }),
    maxBalancePerInvestor: tokenAmount
      .optional()
      .meta({ description: "Whole tokens one investor (identity, all wallets) may hold (MaxBalanceModule)" }),
    supplyCap: tokenAmount.optional().meta({ description: "Total supply never above this (SupplyLimitModule)" }),
    transferApproval: z
      .boolean()
      .default(false)
      .meta({ description: "Each transfer (and mint) needs the agent's approval first (ConditionalTransferModule)" }),
  })
  .default({ transferApproval: false });

const policyInput = z
  .object({
    approvalKinds: z.array(z.enum(OPERATION_KINDS.filter((k) => k !== "create"))).max(OPERATION_KINDS.length),
    mintThreshold: tokenAmount.nullable().default(null),
  })
  .optional()
  .meta({
    description:
      "Which operations of the new token need a second issuer's approval; left out: the defaults (forced transfers and recoveries)",
  });

const common = {
  idempotencyKey,
  name: text(64),
  symbol: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9]{1,11}$/, "symbol: 1 to 11 letters or digits")
    .transform((v) => v.toUpperCase()),
  decimals: z
    .number({ error: "decimals is required: a whole number from 0 to 18" })
    .int("decimals must be a whole number from 0 to 18")
    .min(0, "decimals must be a whole number from 0 to 18")
    .max(18, "decimals must be a whole number from 0 to 18"),
  isin: isin.meta({
    description: "ISO 6166, check digit verified; unique among Kit's tokens; the factory salt",
    examples: ["US0378331005"],
  }),
  description: text(5_000).optional(),
  compliance: complianceInput,
  approvalPolicy: policyInput,
};

const bond = z.object({
  kind: z.literal("bond"),
  ...common,
  faceValue: decimal("faceValue", { fraction: 18, positive: true }).meta({
    description: "Face value of one whole token, in `currency`",
  }),
  currency: currencyCode("currency"),
  maturityDate: z.iso
    .date("maturityDate must be a date such as 2030-12-31")
    .refine((d) => d > today(), "maturityDate must be in the future"),
  couponRate: decimal("couponRate", { fraction: 6, max: 100 }).meta({
    description: "Yearly coupon, percent of face value (0 for a zero-coupon bond)",
  }),
  couponFrequency: z.enum(COUPON_FREQUENCIES, {
    error: `couponFrequency must be one of ${COUPON_FREQUENCIES.join(", ")}`,
  }),
});
const equity = z.object({
  kind: z.literal("equity"),
  ...common,
  shareClass: text(50).meta({ description: "e.g. A, preferred" }),
  votingRights: z.boolean({ error: "votingRights is required: true or false" }),
});
const fund = z.object({
  kind: z.literal("fund"),
  ...common,
  managementFee: decimal("managementFee", { fraction: 4, max: MAX_MANAGEMENT_FEE }).meta({
    description: `Percent a year, at most ${MAX_MANAGEMENT_FEE}`,
  }),
  navCurrency: currencyCode("navCurrency"),
});
const deposit = z.object({ kind: z.literal("deposit"), ...common, backingCurrency: currencyCode("backingCurrency") });

const createTokenInput = z
  .discriminatedUnion("kind", [bond, equity, fund, deposit], {
    error: `kind must be one of ${TOKEN_KINDS.join(", ")}`,
  })
  .superRefine((input, ctx) => {
    const allowed = new Set(input.compliance.allowCountries ?? []);
    const both = [...new Set(input.compliance.blockCountries ?? [])].filter((c) => allowed.has(c));
    if (both.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["compliance", "blockCountries"],
        message: `${both.join(", ")} cannot be both allowed and blocked`,
      });
    }
    const amounts = {
      maxBalancePerInvestor: input.compliance.maxBalancePerInvestor,
      supplyCap: input.compliance.supplyCap,
      mintThreshold: input.approvalPolicy?.mintThreshold ?? undefined,
    };
    for (const [field, value] of Object.entries(amounts)) {
      const fraction = value?.split(".")[1] ?? "";
      if (fraction.length > input.decimals) {
        const path = field === "mintThreshold" ? ["approvalPolicy", field] : ["compliance", field];
        ctx.addIssue({
          code: "custom",
          path,
          message: `${value} has ${fraction.length} decimals; the token has ${input.decimals}`,
        });
      }
    }
  });

export type CreateTokenInput = z.infer<typeof createTokenInput>;

export const createTokenContract = {
  create: base
    .route({
      method: "POST",
      path: "/tokens",
      tags: ["token operations"],
      summary:
        "Create a token (bond, equity, fund or deposit) with its compliance rules: 202 with the creation operation, deployed by Kit's agent",
      successStatus: 202,
    })
    .meta({
      permission: { tokens: ["create"] },
      keyGrant: { tokens: ["create"] },
      errors: ["CONFLICT", "PRECONDITION_FAILED"],
    })
    .input(createTokenInput)
    .output(accepted),
};
