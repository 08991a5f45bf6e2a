// The applicant's own live stream carries their wallets' on-chain status (no polling): a snapshot
// when an eligibility job ends, and the current one when a stream opens; reviewers never get it.
import { expect, test } from "bun:test";
import { getAddress } from "viem";
import { registeredInvestor, startOnchainKit } from "../../../test/onchain-kit";
import { createUser } from "../../../test/users";
import type { OnchainStatusEvent } from "./contract-shapes";
import { watchOwnStatus, watchQueue } from "./events";

const onchain = await startOnchainKit();
const { kit } = onchain;

/** The next on-chain snapshot of a stream (status events skipped), within `ms`. */
async function nextSnapshot(stream: AsyncIterator<unknown>, ms = 30_000): Promise<OnchainStatusEvent> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const next = await Promise.race([stream.next(), Bun.sleep(deadline - Date.now()).then(() => null)]);
    if (!next || next.done) break;
    if (next.value && typeof next.value === "object" && "onchain" in next.value)
      return next.value as OnchainStatusEvent;
  }
  throw new Error("no on-chain snapshot arrived");
}

test("a wallet verified on chain reaches its owner's stream, and a new stream starts with it; the queue never hears it", async () => {
  const investor = await createUser(kit, "investor");
  const reviewer = await createUser(kit, "kyc_reviewer");
  const own = new AbortController();
  const queue = new AbortController();
  const ownStream = await watchOwnStatus(kit.deps, investor.id, own.signal);
  const queueStream = await watchQueue(kit.deps, reviewer.id, queue.signal);

  const { wallet } = await registeredInvestor(onchain, investor.id);
  const live = await nextSnapshot(ownStream);
  expect(live.onchain).toEqual([
    expect.objectContaining({ wallet: getAddress(wallet), status: "registered", error: null }),
  ]);

  // Reconnecting: the current status, then where the wallets stand, before any change.
  own.abort();
  const again = new AbortController();
  const reopened = await watchOwnStatus(kit.deps, investor.id, again.signal);
  const first = await reopened.next();
  expect(first.value).toMatchObject({ status: "approved" });
  expect(first.value).not.toHaveProperty("reviewerId");
  expect((await reopened.next()).value).toMatchObject({
    onchain: [expect.objectContaining({ wallet: getAddress(wallet), status: "registered" })],
  });
  again.abort();

  // Reviewers hear status changes of every application, never anyone's wallets.
  const heard: unknown[] = [];
  const collecting = (async () => {
    for await (const event of queueStream) heard.push(event);
  })();
  await Bun.sleep(200);
  queue.abort();
  await collecting.catch(() => {});
  expect(heard.some((event) => typeof event === "object" && event !== null && "onchain" in event)).toBe(false);
}, 90_000);
