// tokens.create: checks a creation request, fixes what it will deploy (the suite of the deployment
// file, the factory salt = the ISIN, the predicted address), writes the token's metadata document
// and records the creation operation; the outbox deploys it (create-steps.ts). Every refusal is a
// typed 4xx before anything is recorded or sent.
import {
  isAnvil,
  predictTokenAddress,
  readCreationFacts,
  readDeployment,
  type TokenSuiteContext,
} from "@kit/contracts";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Address } from "viem";
import type { Config } from "../../config";
import { countryNumericCode } from "../../country-codes";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { chainAccounts } from "../../infra/chain-accounts";
import { type Database, PG_UNIQUE_VIOLATION, postgresError } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { getCurrency } from "../exchange-rates/currencies";
import { type MetadataDeps, writeCreationMetadata } from "../tokens/metadata";
import { toSmallestUnit } from "./amounts";
import type { OperationView } from "./contract";
import type { CreateTokenInput } from "./create-contract";
import type { CreateParameters } from "./create-parameters";
import type { Actor } from "./grants";
import { tokenOperationHistory, tokenOperations } from "./schema";
import { findByKey, hashOf, keyOf, operationView, queueSend, sameRequest, type UserOperationRow } from "./service";
import type { OperationRow } from "./store";

export interface CreateDeps extends MetadataDeps {
  db: Database;
  chain: Chain;
  config: Pick<Config, "chain" | "s3">;
  jobs: JobQueue;
  log: Logger;
}

/** The partial unique index that keeps one open or confirmed creation per ISIN and chain. */
const ISIN_INDEX = "token_operations_create_isin_idx";

export async function requestCreation(
  deps: CreateDeps,
  actor: Actor,
  input: CreateTokenInput,
  headerKey: string | null,
): Promise<{ operation: OperationView }> {
  const idempotencyKey = keyOf({ input, headerKey });
  const { idempotencyKey: _key, ...body } = input;
  const requestHash = hashOf({ chainId: deps.config.chain.id, kind: "create", body });
  if (idempotencyKey) {
    const existing = await findByKey(deps.db, actor.id, idempotencyKey);
    if (existing) return { operation: sameRequest(existing, requestHash) };
  }
  await requireCurrencies(deps, input);
  const suite = await suiteContext(deps);
  const parameters = creationParameters(input, suite);
  if (!suite.modules && boundAnything(parameters)) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "Kit's deployment has no compliance modules yet; an operator runs `bun run chain:deploy` to add them.",
    );
  }
  const token = predictTokenAddress(suite, {
    ...parameters.spec,
    compliance: undefined,
  }).toLowerCase();
  try {
    await requireIsinFree(deps, suite, input.isin, token);
  } catch (error) {
    // The same request, with the same key, recorded by a concurrent call since the lookup above.
    const existing = idempotencyKey ? await findByKey(deps.db, actor.id, idempotencyKey) : undefined;
    if (existing) return { operation: sameRequest(existing, requestHash) };
    throw error;
  }
  let row: OperationRow;
  try {
    row = await deps.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(tokenOperations)
        .values({
          chainId: deps.config.chain.id,
          token,
          kind: "create",
          parameters: parameters as unknown as Record<string, unknown>,
          requestedBy: actor.id,
          idempotencyKey,
          requestHash,
          status: "pending",
        })
        .returning();
      if (!inserted) throw new Error("insert returned no row");
      await tx.insert(tokenOperationHistory).values({
        operationId: inserted.id,
        toStatus: "pending",
        actorId: actor.id,
        reason: `create ${input.kind} ${parameters.spec.symbol} (ISIN ${input.isin})`,
      });
      // Written once the row is in (a creation refused for its ISIN writes nothing), before the
      // commit: a store that fails takes the operation back with it.
      await writeCreationMetadata(deps, tx, actor.id, token, {
        description: input.description ?? null,
        assetClass: input.kind,
        isin: input.isin,
        terms: parameters.terms,
      });
      return inserted;
    });
  } catch (error) {
    const failure = postgresError(error);
    if (failure?.code !== PG_UNIQUE_VIOLATION) throw error;
    // The same idempotency key raced in from another request (whichever index refused it first):
    // answer what won.
    const existing = idempotencyKey ? await findByKey(deps.db, actor.id, idempotencyKey) : undefined;
    if (existing) return { operation: sameRequest(existing, requestHash) };
    if (failure.constraint === ISIN_INDEX) throw isinTaken(input.isin);
    throw error;
  }
  await queueSend(deps, row.id);
  return { operation: operationView(row as UserOperationRow) };
}

async function requireCurrencies(deps: { db: Database }, input: CreateTokenInput): Promise<void> {
  const fields: [string, string][] =
    input.kind === "bond"
      ? [["currency", input.currency]]
      : input.kind === "fund"
        ? [["navCurrency", input.navCurrency]]
        : input.kind === "deposit"
          ? [["backingCurrency", input.backingCurrency]]
          : [];
  for (const [path, code] of fields) {
    if (await getCurrency(deps, code)) continue;
    const message = `${code} is not a currency Kit knows (ISO 4217); GET /api/fx/currencies lists them`;
    throw new KitError("BAD_REQUEST", `Invalid input: ${path}: ${message}`, [{ path, message }]);
  }
}

/** The suite every Kit token is created against: the deployment file, and Kit's agent as owner and agent. */
async function suiteContext(deps: Pick<CreateDeps, "config" | "chain">): Promise<TokenSuiteContext> {
  const deployment = await readDeployment(deps.config.chain.deploymentFile).catch(() => {
    throw new KitError(
      "PRECONDITION_FAILED",
      "Kit's token suite is not deployed on this chain (no deployment file); an operator runs `bun run chain:deploy` first.",
    );
  });
  if (deployment.chainId !== deps.config.chain.id) {
    throw new KitError(
      "PRECONDITION_FAILED",
      `Kit's deployment file is for chain ${deployment.chainId}, not this one.`,
    );
  }
  const agent = chainAccounts(deps.config, await isAnvil(deps.chain)).agent.address;
  return {
    factory: deployment.trex.factory,
    implementationAuthority: deployment.trex.implementationAuthority,
    claimIssuer: deployment.claimIssuer.address,
    claimTopic: BigInt(deployment.claimTopics.kyc),
    identityRegistryStorage: deployment.identityRegistryStorage,
    agent,
    modules: deployment.complianceModules,
  };
}

function creationParameters(input: CreateTokenInput, suite: TokenSuiteContext): CreateParameters {
  const numeric = (codes: string[] | undefined) =>
    [...new Set(codes ?? [])].map((code) => countryNumericCode(code) ?? 0).filter((n) => n > 0);
  const amount = (value: string | undefined, path: string) =>
    value === undefined ? null : toSmallestUnit(value, input.decimals, path).toString();
  const c = input.compliance;
  const lower = (a: string) => a.toLowerCase();
  return {
    spec: {
      name: input.name,
      symbol: input.symbol,
      decimals: input.decimals,
      salt: input.isin,
      compliance: {
        allowCountries: numeric(c.allowCountries),
        blockCountries: numeric(c.blockCountries),
        maxBalance: amount(c.maxBalancePerInvestor, "compliance.maxBalancePerInvestor"),
        supplyCap: amount(c.supplyCap, "compliance.supplyCap"),
        transferApproval: c.transferApproval,
      },
    },
    suite: {
      factory: lower(suite.factory),
      implementationAuthority: lower(suite.implementationAuthority),
      claimIssuer: lower(suite.claimIssuer),
      claimTopic: suite.claimTopic.toString(),
      identityRegistryStorage: lower(suite.identityRegistryStorage),
      agent: lower(suite.agent),
      modules: suite.modules
        ? Object.fromEntries(Object.entries(suite.modules).map(([name, address]) => [name, lower(address)]))
        : null,
    },
    terms: termsOf(input),
    policy: input.approvalPolicy
      ? {
          approvalKinds: [...new Set(input.approvalPolicy.approvalKinds)],
          mintThreshold: amount(input.approvalPolicy.mintThreshold ?? undefined, "approvalPolicy.mintThreshold"),
        }
      : null,
  };
}

/** The kind and the fields only it has: what the metadata document keeps as fixed terms. */
function termsOf(input: CreateTokenInput): Record<string, string | boolean> {
  switch (input.kind) {
    case "bond":
      return {
        kind: "bond",
        faceValue: input.faceValue,
        currency: input.currency,
        maturityDate: input.maturityDate,
        couponRate: input.couponRate,
        couponFrequency: input.couponFrequency,
      };
    case "equity":
      return { kind: "equity", shareClass: input.shareClass, votingRights: input.votingRights };
    case "fund":
      return { kind: "fund", managementFee: input.managementFee, navCurrency: input.navCurrency };
    case "deposit":
      return { kind: "deposit", backingCurrency: input.backingCurrency };
  }
}

function boundAnything(p: CreateParameters): boolean {
  const c = p.spec.compliance;
  return (
    c.allowCountries.length > 0 ||
    c.blockCountries.length > 0 ||
    c.maxBalance !== null ||
    c.supplyCap !== null ||
    c.transferApproval
  );
}

function isinTaken(isin: string, where?: string): KitError {
  return new KitError(
    "CONFLICT",
    `A token with ISIN ${isin} already exists${where ? ` (${where})` : ""}; an ISIN identifies one security.`,
  );
}

/**
 * No other creation of this ISIN is open or done, the factory has no token for it (the salt), and
 * nothing is deployed at the address: a token made outside Kit's outbox (the demo tokens, another
 * tool on the same factory) counts too.
 */
async function requireIsinFree(
  deps: Pick<CreateDeps, "db" | "chain" | "config">,
  suite: TokenSuiteContext,
  isin: string,
  token: string,
): Promise<void> {
  const [open] = await deps.db
    .select({ id: tokenOperations.id, status: tokenOperations.status })
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.chainId, deps.config.chain.id),
        eq(tokenOperations.kind, "create"),
        inArray(tokenOperations.status, ["awaiting_approval", "pending", "signed", "submitted", "confirmed"]),
        sql`${tokenOperations.parameters}->'spec'->>'salt' = ${isin}`,
      ),
    )
    .limit(1);
  if (open) throw isinTaken(isin, `creation ${open.id} is ${open.status}`);
  const facts = await readCreationFacts(deps.chain, suite, isin);
  if (facts.token) throw isinTaken(isin, `at ${facts.token}`);
  const code = await deps.chain.getCode({ address: token as Address });
  if (code && code !== "0x") throw isinTaken(isin, `a contract is already at ${token}`);
}
