// The issuer pages in a real browser against a real Kit on anvil (api, worker and indexer in one
// process, kit/contracts' demo tokens): an issuer granted on the demo equity (0 decimals) mints to
// two verified investors — after the form and then Kit refuse what is wrong, in words — and sees it confirmed
// live and the new holders; freezes one; requests a forced transfer, which waits for a second
// issuer, who approves it from "Approvals"; the first issuer's page sees it confirmed without a
// reload. An approved operation that the chain then refuses shows as failed, with its reason. An
// issuer creates a bond from the console and opens it once deployed. Any other browser console
// error fails. Screenshots: e2e/screenshots/2*.png.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { KitClient } from "@kit/client";
import { CHROMIUM, type ConsoleKit, type ConsoleUser, signInOnConsole, startConsoleKit } from "./harness";

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the issuer e2e: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

/** Waits until Kit's indexer has found `tokens` (granting needs an indexed token). */
async function waitForIndexed(client: KitClient, tokens: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { items } = await client.rpc.tokens.list({ limit: 100 });
    const indexed = new Set(items.map((t) => t.address.toLowerCase()));
    if (tokens.every((t) => indexed.has(t.toLowerCase()))) return;
    if (Date.now() > deadline) throw new Error(`the indexer did not find ${tokens.join(", ")} within 30 s`);
    await Bun.sleep(200);
  }
}

describe.skipIf(!hasChromium)("issuer pages, end to end in Chromium on anvil", () => {
  let kit: ConsoleKit;
  let issuerA: ConsoleUser;
  let issuerB: ConsoleUser;
  let equity: string;
  let investors: string[];
  let stranger: string;

  beforeAll(async () => {
    kit = await startConsoleKit({ chain: true });
    const chain = kit.chain;
    const [bond, equityToken] = chain?.deployment.tokens ?? [];
    const unverified = chain?.accounts.others[0]?.address;
    if (!chain || !bond || !equityToken || !unverified) throw new Error("the dev chain lacks its demo tokens");
    equity = equityToken.address;
    investors = chain.accounts.investors.map((a) => a.address);
    stranger = unverified;
    const admin = await kit.createUser("admin", "Ada Granter");
    [issuerA, issuerB] = await Promise.all([
      kit.createUser("issuer", "Ivy Issuer"),
      kit.createUser("issuer", "Otto Second"),
    ]);
    // The demo tokens were deployed by Kit's agent: nobody is granted on them until an admin grants.
    const client = await kit.clientFor(admin);
    await waitForIndexed(client, [bond.address, equity]);
    for (const issuer of [issuerA, issuerB]) {
      await client.rpc.tokens.grants.add({ address: equity, userId: issuer.id });
    }
  }, 120_000);

  afterAll(async () => {
    await kit?.stop();
  }, 30_000);

  test("an issuer's console: their tokens, no KYC queue; an issuer granted nowhere is told so", async () => {
    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, issuerA);
    await page.getByRole("heading", { name: "My tokens" }).waitFor();
    await page.getByRole("link", { name: "Kit Equity" }).waitFor();
    expect(await page.getByRole("link", { name: "Kit Bond 2030" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "KYC queue" }).count()).toBe(0);
    await kit.screenshot(page, "20-my-tokens");
    await context.close();
    expect(errors).toEqual([]);

    const nowhere = await kit.createUser("issuer", "Nora Nogrant");
    const other = await kit.openPage();
    await signInOnConsole(other.page, kit.url, nowhere);
    await other.page.getByText("You are granted on no token yet.").waitFor();
    await other.page.goto(`${kit.url}/console/tokens/${equity}`);
    await other.page.getByRole("alert").filter({ hasText: "Not allowed: You have no grant on the token" }).waitFor();
    await other.context.close();
    // The refusal is an HTTP 403, which Chromium logs; nothing else may be.
    expect(other.errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  }, 60_000);

  test("mint to two verified investors, freeze one, and a forced transfer approved by a second issuer", async () => {
    const [investor0, investor1, investor2, investor3] = investors as [string, string, string, string];
    // The demo investors hold KEQ already (the demo's mints and transfers): balances as indexed now.
    const { items } = await (await kit.clientFor(issuerA)).rpc.tokens.holders({ address: equity, limit: 100 });
    const [had0, had1, had2, had3] = investors.map((wallet) =>
      BigInt(items.find((h) => h.address === wallet)?.balance.raw ?? "0"),
    ) as [bigint, bigint, bigint, bigint];
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, issuerA);
    await a.page.getByRole("link", { name: "Kit Equity" }).click();
    await a.page.getByRole("heading", { name: "Kit Equity (KEQ)" }).waitFor();
    await a.page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    await kit.screenshot(a.page, "21-token");

    // The form refuses a fraction of a 0-decimal token before anything is sent…
    const mint = a.page.getByRole("region", { name: "Mint", exact: true });
    await mint.getByLabel("Recipient wallet").fill(investor1);
    await mint.getByLabel("Amount").fill("2.5");
    await mint.getByRole("button", { name: "Mint", exact: true }).click();
    await mint.getByRole("alert").filter({ hasText: "this token has no decimals: give a whole number" }).waitFor();
    // …and Kit refuses an unverified receiver, said in words and naming the field.
    await mint.getByLabel("Recipient wallet").fill(stranger);
    await mint.getByLabel("Amount").fill("5");
    await mint.getByRole("button", { name: "Mint", exact: true }).click();
    await mint
      .getByRole("alert")
      .filter({ hasText: `Please check: Recipient wallet: ${stranger.toLowerCase()} is not verified for this token` })
      .waitFor();
    await kit.screenshot(a.page, "22-mint-refused-in-words");

    // Two recipients, one transaction; pending → confirmed, live.
    await mint.getByRole("button", { name: "Add a recipient" }).click();
    await mint.getByLabel("Recipient 1 wallet").fill(investor1);
    await mint.getByLabel("Amount 1").fill("25");
    await mint.getByLabel("Recipient 2 wallet").fill(investor2);
    await mint.getByLabel("Amount 2").fill("5");
    await mint.getByRole("button", { name: "Mint", exact: true }).click();
    const minted = mint.getByRole("status").filter({ hasText: "30 KEQ to 2 wallets" });
    await minted.filter({ hasText: "Confirmed" }).waitFor({ timeout: 30_000 });
    expect(await minted.textContent()).toMatch(/in block \d+/);

    // The holders (from Kit's index) show the new balances once the indexer has the block.
    const holders = a.page.getByRole("region", { name: "Holders", exact: true });
    const holder1 = holders.getByRole("row").filter({ hasText: investor1 });
    await holder1.getByRole("cell", { name: String(had1 + 25n), exact: true }).waitFor({ timeout: 15_000 });
    await holders
      .getByRole("row")
      .filter({ hasText: investor2 })
      .getByRole("cell", { name: String(had2 + 5n), exact: true })
      .waitFor();
    await kit.screenshot(a.page, "23-minted-confirmed");

    // Freeze a holder from their row.
    await holder1.getByRole("button", { name: `Freeze ${investor1}` }).click();
    await holder1.getByRole("status").filter({ hasText: "Confirmed" }).waitFor({ timeout: 30_000 });
    await holder1.getByText("Frozen", { exact: true }).waitFor({ timeout: 15_000 });
    await holder1.getByRole("button", { name: `Unfreeze ${investor1}` }).waitFor();
    await kit.screenshot(a.page, "24-holder-frozen");

    // A forced transfer needs a second issuer (the default policy): it waits.
    const forced = a.page.getByRole("region", { name: "Forced transfer", exact: true });
    await forced.getByText("a second of its issuers must approve it").waitFor();
    await forced.getByLabel("From").fill(investor0);
    await forced.getByLabel("To").fill(investor3);
    await forced.getByLabel("Amount").fill("100");
    await forced.getByRole("button", { name: "Request forced transfer" }).click();
    const transfer = forced.getByRole("status").filter({ hasText: "100 KEQ from" });
    await transfer.filter({ hasText: "Awaiting approval" }).waitFor();
    await kit.screenshot(a.page, "25-forced-transfer-awaiting-approval");
    // Not the requester's to approve: their own inbox does not list it.
    const own = await (await kit.clientFor(issuerA)).rpc.tokens.operations.awaitingMyApproval({});
    expect(own.items).toEqual([]);

    // The second issuer approves it from "Approvals", with a reason (required).
    const b = await kit.openPage();
    await signInOnConsole(b.page, kit.url, issuerB);
    await b.page.getByRole("link", { name: "Approvals" }).click();
    await b.page.getByRole("heading", { name: "Approvals waiting for me" }).waitFor();
    const waiting = b.page.getByRole("row").filter({ hasText: "Forced transfer" });
    await waiting.waitFor();
    expect(await waiting.textContent()).toContain("100 KEQ from");
    await waiting.getByRole("button", { name: "Approve" }).click();
    await b.page.getByRole("alert").filter({ hasText: "A reason is required" }).waitFor();
    await waiting.getByLabel("Reason (recorded)").fill("Court order 2026-117: estate settlement");
    await kit.screenshot(b.page, "26-approval-waiting-second-issuer");
    await waiting.getByRole("button", { name: "Approve" }).click();
    await b.page.getByText(/^Approved the forced transfer/).waitFor();
    await b.page.getByText("Nothing waits for your approval.").waitFor();
    await kit.screenshot(b.page, "27-approved-by-second-issuer");

    // The requester's page, open all along, follows it to confirmed and shows the moved balances.
    await transfer.filter({ hasText: "Confirmed" }).waitFor({ timeout: 30_000 });
    const balanceOf = (wallet: string, balance: string) =>
      holders.getByRole("row").filter({ hasText: wallet }).getByRole("cell", { name: balance, exact: true });
    await balanceOf(investor0, String(had0 - 100n)).waitFor({ timeout: 15_000 });
    await balanceOf(investor3, String(had3 + 100n)).waitFor();
    const operations = a.page.getByRole("region", { name: "Operations", exact: true });
    await operations.getByText("Approved by issuer").waitFor();
    await operations.getByText("Court order 2026-117: estate settlement", { exact: false }).waitFor();
    expect(await operations.locator("tbody tr").count()).toBe(3);
    expect(await operations.locator(".badge", { hasText: "Confirmed" }).count()).toBe(3);
    await kit.screenshot(a.page, "28-forced-transfer-confirmed-live");

    await a.context.close();
    await b.context.close();
    // The refused mint is an HTTP 400, which Chromium logs; nothing else may be.
    expect(a.errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    expect(b.errors).toEqual([]);
  }, 120_000);

  test("an approved operation the chain then refuses shows as failed, with the reason in words", async () => {
    const wallet = investors[2] as string;
    const { items } = await (await kit.clientFor(issuerA)).rpc.tokens.holders({ address: equity, limit: 100 });
    const balance = BigInt(items.find((h) => h.address === wallet)?.balance.raw ?? "0");
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, issuerA);
    await a.page.goto(`${kit.url}/console/tokens/${equity}`);
    await a.page.getByRole("status").filter({ hasText: "Live" }).waitFor();

    // A forced transfer of the whole balance waits for approval; meanwhile a burn takes half of it.
    const forced = a.page.getByRole("region", { name: "Forced transfer", exact: true });
    await forced.getByLabel("From").fill(wallet);
    await forced.getByLabel("To").fill(investors[0] as string);
    await forced.getByLabel("Amount").fill(String(balance));
    await forced.getByRole("button", { name: "Request forced transfer" }).click();
    const transfer = forced.getByRole("status").filter({ hasText: `${balance} KEQ from` });
    await transfer.filter({ hasText: "Awaiting approval" }).waitFor();
    const burn = a.page.getByRole("region", { name: "Burn", exact: true });
    await burn.getByLabel("Wallet").fill(wallet);
    await burn.getByLabel("Amount").fill(String(balance / 2n));
    await burn.getByRole("button", { name: "Burn", exact: true }).click();
    await burn.getByRole("status").filter({ hasText: "Confirmed" }).waitFor({ timeout: 30_000 });

    // Approved by the second issuer (through the API this time), it can no longer be done.
    const pending = await (await kit.clientFor(issuerB)).rpc.tokens.operations.awaitingMyApproval({});
    const [waiting] = pending.items;
    if (!waiting) throw new Error("the forced transfer is not waiting for the second issuer");
    await (await kit.clientFor(issuerB)).rpc.tokens.operations.approve({
      id: waiting.id,
      reason: "Court order 2026-118",
    });
    await transfer
      .filter({ hasText: "Failed" })
      .filter({ hasText: "the wallet's balance is too low (the contract said: " })
      .waitFor({ timeout: 30_000 });
    await kit.screenshot(a.page, "29-approved-then-failed-on-chain");
    await a.context.close();
    expect(a.errors).toEqual([]);
  }, 90_000);
  test("loosening four eyes from the token page waits for the second issuer, who approves it there", async () => {
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, issuerA);
    await a.page.goto(`${kit.url}/console/tokens/${equity}`);
    const card = a.page.getByRole("region", { name: "Four eyes", exact: true });
    await card.getByText("Now: a second issuer's approval for: forced transfer, recovery.").waitFor();
    await card.getByText("Change the policy").click();
    await card.getByLabel("Forced transfer").uncheck();
    await card.getByLabel("Why (shown to the issuer who decides)").fill("standing court order");
    await card.getByRole("button", { name: "Ask for this policy" }).click();
    await card.getByText("It loosens four eyes, so it waits for another of the token's issuers.").waitFor();
    await card.getByText(/Waiting for a second issuer/).waitFor();
    await card.getByRole("button", { name: "Withdraw" }).waitFor();
    expect(await card.getByRole("button", { name: "Approve change" }).count()).toBe(0);
    await kit.screenshot(a.page, "30-policy-change-waiting");

    const b = await kit.openPage();
    await signInOnConsole(b.page, kit.url, issuerB);
    // "Approvals" lists it for the second issuer; they decide on the token's page.
    await b.page.getByRole("link", { name: "Approvals" }).click();
    const listed = b.page.getByRole("region", { name: "Policy changes waiting for me" });
    await listed.getByRole("row").filter({ hasText: "standing court order" }).waitFor();
    await b.page.goto(`${kit.url}/console/tokens/${equity}`);
    const seen = b.page.getByRole("region", { name: "Four eyes", exact: true });
    await seen
      .getByText(/Issuer \w{8} asked .* for a second issuer's approval for: recovery \(“standing court order”\)/)
      .waitFor();
    await seen.getByLabel("Reason (recorded)").fill("order on file");
    await seen.getByRole("button", { name: "Approve change" }).click();
    await seen.getByText("Approved: the new policy applies now.").waitFor();
    await seen.getByText("Now: a second issuer's approval for: recovery.").waitFor();
    await kit.screenshot(b.page, "31-policy-change-approved");

    // Back to the defaults: adding a kind only tightens, so it applies at once.
    await b.page.getByText("Change the policy").click();
    await seen.getByLabel("Forced transfer").check();
    await seen.getByRole("button", { name: "Ask for this policy" }).click();
    await seen.getByText("Applied: it only tightens four eyes.").waitFor();
    await a.context.close();
    await b.context.close();
    expect([...a.errors, ...b.errors]).toEqual([]);
  }, 90_000);

  test("an issuer creates a bond: a wrong ISIN refused in words, then deployed, confirmed and opened", async () => {
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, issuerA);
    await a.page.getByRole("link", { name: "Create a token" }).click();
    await a.page.getByRole("heading", { name: "Create a token" }).waitFor();
    const form = a.page.getByRole("region", { name: "The token", exact: true });
    await form.getByLabel("Kind").selectOption("bond");
    await form.getByLabel("Name", { exact: true }).fill("Console Bond 2032");
    await form.getByLabel("Symbol").fill("CB32");
    await form.getByLabel("Decimals").fill("2");
    await form.getByLabel("ISIN").fill("XS2032000008");
    await form.getByLabel("Face value").fill("1000");
    await form.getByLabel("Maturity date").fill(`${new Date().getUTCFullYear() + 6}-06-30`);
    await form.getByLabel("Coupon rate").fill("3.75");
    await form.getByLabel("Blocked countries").fill("US");
    await form.getByLabel("Supply cap").fill("1000000.5");
    await form.getByRole("button", { name: "Create token" }).click();
    await form.getByRole("alert").filter({ hasText: "ISIN: the ISIN's check digit is wrong" }).waitFor();
    await kit.screenshot(a.page, "2a-create-token-refused-in-words");

    await form.getByLabel("ISIN").fill("XS2032000007");
    await form.getByRole("button", { name: "Create token" }).click();
    const progress = a.page.getByRole("region", { name: "Creation", exact: true });
    await progress.getByRole("status").filter({ hasText: "Confirmed" }).waitFor({ timeout: 30_000 });
    await kit.screenshot(a.page, "2b-create-token-confirmed");
    const address = (await progress.locator("code").textContent()) ?? "";
    await waitForIndexed(await kit.clientFor(issuerA), [address]);
    await progress.getByRole("link", { name: "Open the new token" }).click();
    await a.page.getByRole("heading", { name: "Console Bond 2032 (CB32)" }).waitFor();
    await a.context.close();
    // The refused creation is an HTTP 400, which Chromium logs; nothing else may be.
    expect(a.errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  }, 90_000);
});
