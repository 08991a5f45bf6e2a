// What is checked before an operation is recorded, so bad input gets a typed 4xx and never a
// transaction: amounts in the token's decimals, verified receivers, burns within balance, known
// wallets, and the paused state where T-REX checks it for agents (pause and unpause only: its
// agents may mint, burn and force transfers while holders are paused).
import { identityRegistryAbi, tokenAbi } from "@kit/contracts";
import { type Address, BaseError } from "viem";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { fromSmallestUnit, toSmallestUnit } from "./amounts";
import type { OperationParameters } from "./calls";
import type { OperationKind } from "./contract-values";

export interface TokenFacts {
  address: string;
  decimals: number;
  identityRegistry: string | null;
}

type Input = Record<string, unknown>;
const lower = (value: unknown) => String(value).toLowerCase();

/** The operation's parameters as stored: addresses lowercase, amounts in the smallest unit. */
export function normalizeParameters(kind: OperationKind, input: Input, decimals: number): Record<string, unknown> {
  const raw = (value: unknown, path: string) => toSmallestUnit(String(value), decimals, path).toString();
  switch (kind) {
    case "mint":
      return {
        recipients: (input.recipients as { to: string; amount: string }[]).map((r, i) => ({
          to: lower(r.to),
          amount: raw(r.amount, `recipients.${i}.amount`),
        })),
      } satisfies OperationParameters["mint"];
    case "burn":
      return { from: lower(input.from), amount: raw(input.amount, "amount") };
    case "freeze":
    case "unfreeze":
      return { wallet: lower(input.wallet) };
    case "freeze_partial":
    case "unfreeze_partial":
      return { wallet: lower(input.wallet), amount: raw(input.amount, "amount") };
    case "forced_transfer":
      return { from: lower(input.from), to: lower(input.to), amount: raw(input.amount, "amount") };
    case "recover":
      // The investor's identity and account are added once the request is checked (recover.ts).
      return {
        lostWallet: lower(input.lostWallet),
        newWallet: lower(input.newWallet),
        ...(typeof input.reason === "string" ? { reason: input.reason } : {}),
      };
    case "pause":
    case "unpause":
      return {};
    case "create":
      throw new Error("a creation is requested through requestCreation (create.ts)");
  }
}

/** Freezing takes at most the unfrozen part of the balance; unfreezing at most the frozen part. */
async function partialFreeze(
  read: <T>(functionName: string, args?: unknown[]) => Promise<T>,
  decimals: number,
  kind: "freeze_partial" | "unfreeze_partial",
  wallet: string,
  amount: bigint,
) {
  const [balance, frozen] = await Promise.all([
    read<bigint>("balanceOf", [wallet]),
    read<bigint>("getFrozenTokens", [wallet]),
  ]);
  const limit = kind === "freeze_partial" ? balance - frozen : frozen;
  if (amount > limit) {
    const what = kind === "freeze_partial" ? "unfrozen balance" : "frozen amount";
    refuse(
      "amount",
      `${fromSmallestUnit(amount, decimals)} exceeds the ${what} of ${wallet} (${fromSmallestUnit(limit, decimals)})`,
    );
  }
}

function refuse(path: string, message: string): never {
  throw new KitError("BAD_REQUEST", `Invalid input: ${path}: ${message}`, [{ path, message }]);
}

/** Reads the chain; a node that does not answer is a 503 (nothing was recorded). */
export async function precheck(chain: Chain, token: TokenFacts, kind: OperationKind, parameters: Input) {
  try {
    await checks(chain, token, kind, parameters);
  } catch (error) {
    if (error instanceof KitError) throw error;
    if (error instanceof BaseError) {
      throw new KitError(
        "SERVICE_UNAVAILABLE",
        "The chain node could not be read; nothing was recorded. Retry shortly.",
      );
    }
    throw error;
  }
}

async function checks(chain: Chain, token: TokenFacts, kind: OperationKind, p: Input) {
  const address = token.address as Address;
  const read = <T>(functionName: string, args: unknown[] = []) =>
    chain.readContract({ address, abi: tokenAbi, functionName, args } as never) as Promise<T>;
  const registry = async () => (token.identityRegistry ?? (await read<string>("identityRegistry"))) as Address;
  const verified = async (wallet: string) =>
    chain.readContract({
      address: await registry(),
      abi: identityRegistryAbi,
      functionName: "isVerified",
      args: [wallet as Address],
    });
  const known = async (wallet: string) =>
    (await read<bigint>("balanceOf", [wallet])) > 0n ||
    (await chain.readContract({
      address: await registry(),
      abi: identityRegistryAbi,
      functionName: "contains",
      args: [wallet as Address],
    }));
  const withinBalance = async (wallet: string, amount: string, what: string) => {
    const balance = await read<bigint>("balanceOf", [wallet]);
    if (balance < BigInt(amount)) {
      refuse(
        "amount",
        `${what} of ${fromSmallestUnit(BigInt(amount), token.decimals)} exceeds the balance of ${wallet} (${fromSmallestUnit(balance, token.decimals)})`,
      );
    }
  };
  switch (kind) {
    case "mint": {
      const recipients = (p as OperationParameters["mint"]).recipients;
      for (let i = 0; i < recipients.length; i += 25) {
        const slice = recipients.slice(i, i + 25);
        const answers = await Promise.all(slice.map((r) => verified(r.to)));
        const bad = answers.findIndex((ok) => !ok);
        if (bad >= 0) {
          refuse(
            `recipients.${i + bad}.to`,
            `${slice[bad]?.to} is not verified for this token (Identity is not verified): its owner must pass KYC first`,
          );
        }
      }
      return;
    }
    case "burn":
      return withinBalance(String(p.from), String(p.amount), "a burn");
    case "forced_transfer":
      await withinBalance(String(p.from), String(p.amount), "a forced transfer");
      if (!(await verified(String(p.to))))
        refuse("to", `${p.to} is not verified for this token (Identity is not verified)`);
      return;
    case "freeze":
    case "unfreeze":
      if (!(await known(String(p.wallet)))) {
        refuse(
          "wallet",
          `${p.wallet} is unknown to this token: not registered in its identity registry and holding nothing`,
        );
      }
      return;
    case "freeze_partial":
    case "unfreeze_partial":
      return partialFreeze(read, token.decimals, kind, String(p.wallet), BigInt(String(p.amount)));
    case "pause":
    case "unpause": {
      const paused = await read<boolean>("paused");
      if (paused === (kind === "pause")) {
        throw new KitError("PRECONDITION_FAILED", `The token is already ${paused ? "paused" : "unpaused"}.`);
      }
      return;
    }
    case "recover":
      return; // recover.ts checks recoveries: they need the investor's account and KYC too
  }
}
