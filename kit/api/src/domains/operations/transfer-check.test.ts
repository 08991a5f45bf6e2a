// tokens.transferCheck against what the chain then does: for each case the holder's own wallet
// sends the transfer right after the check (with a fixed gas limit, so nothing simulates it first)
// and the receipt must agree with `allowed`. Then what each caller is told about the other party,
// bad input and the rate limit.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { identityRegistryAbi, modularComplianceAbi, send, tokenAbi } from "@kit/contracts";
import { eq } from "drizzle-orm";
import { type Abi, type Address, encodeFunctionData, getAddress, type Hex, type LocalAccount } from "viem";
import { callApi } from "../../../test/api";
import { approveApplication, linkAddress } from "../../../test/onchain-kit";
import { balanceOf, grantedIssuer, startOperationsKit } from "../../../test/operations";
import { createUser, type TestUser } from "../../../test/users";
import { kycApplications } from "../kyc/schema";

const ops = await startOperationsKit({
  RATE_LIMITS: JSON.stringify({ "tokens.transfer-check": { limit: 40, windowSeconds: 60 } }),
});
const { kit, dev, bond, equity } = ops;
const issuer = await grantedIssuer(ops, [equity]);
const client = dev.clients.publicClient;
const agent = dev.accounts.deployer;
const [alice, bob, , dave] = dev.accounts.investors as [LocalAccount, LocalAccount, LocalAccount, LocalAccount];
const [expiredWallet, unknownWallet, unverifiedHolder] = dev.accounts.others as [
  LocalAccount,
  LocalAccount,
  LocalAccount,
];
const registry = dev.deployment.tokens[1]?.identityRegistry as Address;

// Alice's owner is a Kit user; so is the owner of a wallet whose KYC approval expired (never on
// chain), and Dave's owner, whose approval expired while the registry still verifies him.
const aliceOwner = await createUser(kit, "investor");
await linkAddress(kit, aliceOwner.id, alice.address);
const lapsed = await createUser(kit, "investor");
await linkAddress(kit, lapsed.id, expiredWallet.address);
const expiredOn = new Date(Date.now() - 3 * 24 * 60 * 60 * 1000);
await approveApplication(kit, lapsed.id);
await kit.deps.db.update(kycApplications).set({ expiresAt: expiredOn }).where(eq(kycApplications.userId, lapsed.id));
const daveOwner = await createUser(kit, "investor");
await linkAddress(kit, daveOwner.id, dave.address);
await approveApplication(kit, daveOwner.id);
await kit.deps.db.update(kycApplications).set({ expiresAt: expiredOn }).where(eq(kycApplications.userId, daveOwner.id));

const asAgent = (functionName: string, args: readonly unknown[], address: Address = equity) =>
  send(dev.clients, agent, { address, abi: tokenAbi as Abi, functionName, args } as never);

async function check(who: TestUser, from: Address, to: Address, amount: string, token: Address = equity) {
  return callApi(kit.app, who, "GET", `/tokens/${token}/transfer-check?from=${from}&to=${to}&amount=${amount}`);
}

/** The holder's own transfer, sent as is: true when it was mined successfully. */
async function transfer(from: LocalAccount, to: Address, amount: bigint, token: Address = equity): Promise<boolean> {
  const hash = await dev.clients.wallet(from).writeContract({
    address: token,
    abi: tokenAbi,
    functionName: "transfer",
    args: [to, amount],
    gas: 500_000n,
  } as never);
  return (await client.waitForTransactionReceipt({ hash })).status === "success";
}

/** Checks, sends, and expects the chain to agree; answers the check. */
async function agreed(who: TestUser, from: LocalAccount, to: Address, amount: bigint) {
  const answer = await check(who, from.address, to, amount.toString());
  expect(answer.status).toBe(200);
  const went = await transfer(from, to, amount);
  expect({ allowed: answer.body.allowed, transferred: went }).toEqual({ allowed: went, transferred: went });
  return answer.body as {
    allowed: boolean;
    reasons: { code: string; message: string; party: string }[];
    warnings: { code: string; message: string; party: string }[];
  };
}
const codes = (list: { code: string }[]) => list.map((r) => r.code);

describe("the check agrees with the chain", () => {
  test("allowed: a verified holder to a verified receiver, within the free balance", async () => {
    const before = await balanceOf(dev, equity, bob.address);
    const answer = await agreed(aliceOwner, alice, bob.address, 1n);
    expect(answer).toMatchObject({ allowed: true, reasons: [], warnings: [] });
    expect(await balanceOf(dev, equity, bob.address)).toBe(before + 1n);
  });

  test("unverified receiver (not known to Kit)", async () => {
    const answer = await agreed(issuer, alice, unknownWallet.address, 1n);
    expect(answer.allowed).toBe(false);
    expect(answer.reasons).toEqual([
      {
        code: "receiver_unknown",
        party: "receiver",
        message:
          "the receiver's wallet is not linked to any Kit account: its owner must link it and pass KYC before it can hold this token",
      },
    ]);
  });

  test("receiver whose KYC approval expired: the date, for those who may know it", async () => {
    const answer = await agreed(issuer, alice, expiredWallet.address, 1n);
    expect(answer.reasons).toEqual([
      {
        code: "receiver_kyc_expired",
        party: "receiver",
        message: `the receiver's KYC approval expired on ${expiredOn.toISOString().slice(0, 10)}`,
      },
    ]);
  });

  test("frozen sender, then frozen receiver", async () => {
    await asAgent("setAddressFrozen", [alice.address, true]);
    expect(codes((await agreed(aliceOwner, alice, bob.address, 1n)).reasons)).toEqual(["sender_frozen"]);
    await asAgent("setAddressFrozen", [alice.address, false]);
    await asAgent("setAddressFrozen", [bob.address, true]);
    expect(codes((await agreed(aliceOwner, alice, bob.address, 1n)).reasons)).toEqual(["receiver_frozen"]);
    await asAgent("setAddressFrozen", [bob.address, false]);
  });

  test("a partial freeze that leaves too little, and exactly enough", async () => {
    const balance = await balanceOf(dev, equity, alice.address);
    await asAgent("freezePartialTokens", [alice.address, balance - 1n]);
    const refused = await agreed(aliceOwner, alice, bob.address, 2n);
    expect(refused.reasons).toEqual([
      {
        code: "tokens_frozen",
        party: "sender",
        message: `${balance - 1n} of the sender's ${balance} are frozen: at most 1 can be sent`,
      },
    ]);
    expect((await agreed(aliceOwner, alice, bob.address, 1n)).allowed).toBe(true);
    await asAgent("unfreezePartialTokens", [alice.address, balance - 1n]);
  });

  test("insufficient balance", async () => {
    const balance = await balanceOf(dev, equity, alice.address);
    const answer = await agreed(aliceOwner, alice, bob.address, balance + 1n);
    expect(answer.reasons).toEqual([
      {
        code: "insufficient_balance",
        party: "sender",
        message: `the sender holds ${balance}, less than the ${balance + 1n} to send`,
      },
    ]);
  });

  test("paused, with a frozen receiver: every reason, not only the first", async () => {
    await asAgent("pause", []);
    await asAgent("setAddressFrozen", [bob.address, true]);
    try {
      const answer = await agreed(aliceOwner, alice, bob.address, 1n);
      expect(codes(answer.reasons)).toEqual(["token_paused", "receiver_frozen"]);
      expect(answer.reasons[0]?.party).toBe("token");
    } finally {
      await asAgent("setAddressFrozen", [bob.address, false]);
      await asAgent("unpause", []);
    }
  });

  test("a compliance module bound to the token refuses the receiver's country", async () => {
    const module = await deployCountryRestrictModule();
    const compliance = await client.readContract({ address: equity, abi: tokenAbi, functionName: "compliance" });
    const country = await client.readContract({
      address: registry,
      abi: identityRegistryAbi,
      functionName: "investorCountry",
      args: [bob.address],
    });
    const onCompliance = (functionName: string, args: readonly unknown[]) =>
      send(dev.clients, agent, { address: compliance, abi: modularComplianceAbi as Abi, functionName, args } as never);
    await onCompliance("addModule", [module.address]);
    const restrict = encodeFunctionData({ abi: module.abi, functionName: "addCountryRestriction", args: [country] });
    await onCompliance("callModuleFunction", [restrict, module.address]);
    try {
      const answer = await agreed(aliceOwner, alice, bob.address, 1n);
      expect(answer.reasons).toEqual([
        {
          code: "compliance_refused",
          party: "token",
          message: "the token's compliance rules refuse this transfer (CountryRestrictModule)",
        },
      ]);
    } finally {
      await onCompliance("removeModule", [module.address]);
    }
    expect((await agreed(aliceOwner, alice, bob.address, 1n)).allowed).toBe(true);
  });

  test("a holder the registry no longer verifies may still send: allowed, with a warning", async () => {
    await dev.verify(unverifiedHolder.address);
    await asAgent("mint", [unverifiedHolder.address, 3n]);
    await send(dev.clients, agent, {
      address: registry,
      abi: identityRegistryAbi,
      functionName: "deleteIdentity",
      args: [unverifiedHolder.address],
    });
    const answer = await agreed(aliceOwner, unverifiedHolder, alice.address, 1n);
    expect(answer).toMatchObject({ allowed: true, reasons: [] });
    expect(codes(answer.warnings)).toEqual(["sender_not_verified"]);
  });

  test("a receiver still verified although Kit's approval ended: allowed, and the issuer is warned", async () => {
    const forIssuer = await agreed(issuer, alice, dave.address, 1n);
    expect(forIssuer.allowed).toBe(true);
    expect(forIssuer.warnings).toEqual([
      {
        code: "receiver_kyc_ending",
        party: "receiver",
        message: `the receiver's KYC approval expired on ${expiredOn.toISOString().slice(0, 10)}; Kit is withdrawing their eligibility on chain, after which transfers to them fail`,
      },
    ]);
    const forInvestor = await agreed(aliceOwner, alice, dave.address, 1n);
    expect(forInvestor.warnings).toEqual([]);
  });
});

describe("what each caller is told about the other party", () => {
  test("another investor learns that the receiver is not eligible, nothing about their KYC", async () => {
    const answer = await check(aliceOwner, alice.address, expiredWallet.address, "1");
    expect(answer.body.reasons).toEqual([
      { code: "receiver_not_eligible", party: "receiver", message: "the receiver is not eligible to hold this token" },
    ]);
    const unknown = await check(aliceOwner, alice.address, unknownWallet.address, "1");
    expect(unknown.body.reasons).toEqual(answer.body.reasons); // no difference between "no account" and "expired"
    expect(JSON.stringify(answer.body)).not.toMatch(/KYC|expired|\d{4}-\d{2}-\d{2}/);
  });

  test("the receiver, asking about their own wallet, is told why", async () => {
    const answer = await check(lapsed, alice.address, expiredWallet.address, "1");
    expect(codes(answer.body.reasons)).toEqual(["receiver_kyc_expired"]);
  });

  test("an issuer without a grant on the token is another caller; a KYC reviewer may know", async () => {
    const ungranted = await createUser(kit, "issuer");
    expect(codes((await check(ungranted, alice.address, expiredWallet.address, "1")).body.reasons)).toEqual([
      "receiver_not_eligible",
    ]);
    const reviewer = await createUser(kit, "kyc_reviewer");
    expect(codes((await check(reviewer, alice.address, expiredWallet.address, "1")).body.reasons)).toEqual([
      "receiver_kyc_expired",
    ]);
  });
});

describe("bad input and limits", () => {
  test("more decimals than the token, a malformed amount, an unknown token, no session", async () => {
    const tooPrecise = await check(aliceOwner, alice.address, bob.address, "1.5");
    expect(tooPrecise.status).toBe(400);
    expect(tooPrecise.body.data.issues[0]).toMatchObject({
      path: "amount",
      message: "1.5 has 1 decimals; the token has 0",
    });
    const bondPrecise = await check(aliceOwner, alice.address, bob.address, `0.${"1".repeat(19)}`, bond);
    expect(bondPrecise.status).toBe(400);
    expect((await check(aliceOwner, alice.address, bob.address, "-1")).status).toBe(400);
    expect((await check(aliceOwner, alice.address, "0x1234" as Address, "1")).status).toBe(400);
    const exact = await check(aliceOwner, alice.address, bob.address, "0.000000000000000001", bond);
    expect(exact.body.amount).toEqual({ raw: "1", formatted: "0.000000000000000001" });
    const unknownToken = `0x${"ab".repeat(20)}` as Address;
    expect((await check(aliceOwner, alice.address, bob.address, "1", unknownToken)).status).toBe(404);
    const anonymous = await kit.request(
      `/api/tokens/${equity}/transfer-check?from=${alice.address}&to=${bob.address}&amount=1`,
    );
    expect(anonymous.status).toBe(401);
  });

  test("rate limited per caller (RATE_LIMITS sets tokens.transfer-check to 40 a minute here)", async () => {
    const busy = await createUser(kit, "investor");
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await check(busy, alice.address, bob.address, "1")).status);
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
  });
});

/** T-REX's CountryRestrictModule, from the npm artifact, deployed and initialised (plug and play). */
async function deployCountryRestrictModule(): Promise<{ address: Address; abi: Abi }> {
  const fromContracts = createRequire(join(import.meta.dir, "../../../../contracts/package.json"));
  const file = fromContracts.resolve(
    "@tokenysolutions/t-rex/artifacts/contracts/compliance/modular/modules/CountryRestrictModule.sol/CountryRestrictModule.json",
  );
  const artifact = JSON.parse(readFileSync(file, "utf8")) as { abi: Abi; bytecode: Hex };
  const hash = await dev.clients.wallet(agent).deployContract({ abi: artifact.abi, bytecode: artifact.bytecode });
  const receipt = await client.waitForTransactionReceipt({ hash });
  const address = getAddress(receipt.contractAddress as Address);
  await send(dev.clients, agent, { address, abi: artifact.abi, functionName: "initialize", args: [] } as never);
  return { address, abi: artifact.abi };
}
