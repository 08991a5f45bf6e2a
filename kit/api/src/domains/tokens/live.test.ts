// tokens.events: what the indexer publishes (events.ts) reaches subscribers over SSE, in order,
// with exact amounts; other tokens' and malformed messages do not; streams release their
// subscription. Every read has a deadline; every stream is closed by its test.
import { describe, expect, test } from "bun:test";
import { getAddress } from "viem";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { readServerSentEvents } from "../../../test/sse";
import { insertToken, randomAddress } from "../../../test/tokens";
import { createUser } from "../../../test/users";
import { publishTokenEvents, transfersChannel } from "./events";
import { MAX_TOKEN_STREAMS_PER_USER, watchTokenTransfers } from "./live";

const kit = await createTestKit();
const investor = await createUser(kit, "investor");
const token = await insertToken(kit, { decimals: 6 });
const otherToken = await insertToken(kit, { decimals: 0 });
const chainId = kit.config.chain.id;
const READ_TIMEOUT_MS = 5_000;

const [alice, bob] = [randomAddress(), randomAddress()];
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
/** Subscribed channels and open streams of the kit's process. */
const tokenStreamStats = () => {
  const { channels, streams } = kit.deps.local.tokenTransferStreams.stats();
  return { channels, streams };
};

describe("tokens.events", () => {
  test("streams the transfers published after a committed batch, and reorgs, over SSE", async () => {
    const response = await kit.request(`/api/tokens/${getAddress(token)}/events`, {
      headers: { cookie: investor.cookie, accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/event-stream");
    const stream = readServerSentEvents(response.body as ReadableStream<Uint8Array>, READ_TIMEOUT_MS);
    try {
      // Subscribed before the response started: what is published now is heard.
      await publishTokenEvents(kit.deps, [
        {
          type: "transfers",
          chainId,
          token: otherToken,
          transfers: [{ txHash: hash(9), logIndex: 0, blockNumber: 7, from: alice, to: bob, amount: "1" }],
        },
        {
          type: "transfers",
          chainId,
          token,
          transfers: [
            { txHash: hash(1), logIndex: 0, blockNumber: 8, from: alice, to: bob, amount: "1234567" },
            {
              txHash: hash(1),
              logIndex: 1,
              blockNumber: 8,
              from: bob,
              to: alice,
              amount: "100000000000000000000000001",
            },
          ],
        },
      ]);
      // Garbage on the channel is ignored, not streamed (and does not end the stream).
      await kit.deps.redis.publish(transfersChannel(kit.config, token), "{not json");
      await publishTokenEvents(kit.deps, [{ type: "reorg", chainId, token, ancestorBlock: 7, removed: 2 }]);

      const first = await stream.event();
      expect(first.event).toBe("message");
      expect(first.data).toEqual({
        type: "transfer",
        token: getAddress(token),
        from: getAddress(alice),
        to: getAddress(bob),
        value: { raw: "1234567", formatted: "1.234567" },
        blockNumber: "8",
        transactionHash: hash(1),
        logIndex: 0,
      });
      expect((await stream.event()).data).toMatchObject({
        logIndex: 1,
        value: { raw: "100000000000000000000000001", formatted: "100000000000000000000.000001" },
      });
      expect((await stream.event()).data).toEqual({
        type: "reorg",
        token: getAddress(token),
        ancestorBlock: "7",
        removed: 2,
      });
    } finally {
      await stream.close();
    }
    await eventually("the stream to be released", () => tokenStreamStats().streams === 0, READ_TIMEOUT_MS);
    expect(tokenStreamStats().channels).toBe(0);
  });

  test("anonymous callers are refused; an unknown token is NOT_FOUND", async () => {
    expect((await kit.request(`/api/tokens/${token}/events`)).status).toBe(401);
    const unknown = await kit.request(`/api/tokens/${randomAddress()}/events`, {
      headers: { cookie: investor.cookie },
    });
    expect(unknown.status).toBe(404);
    expect(tokenStreamStats().streams).toBe(0);
  });

  test("one user holds at most MAX_TOKEN_STREAMS_PER_USER streams on a process; closing one frees a slot", async () => {
    const streams = await Promise.all(
      Array.from({ length: MAX_TOKEN_STREAMS_PER_USER }, () =>
        watchTokenTransfers(kit.deps, "user-1", token, undefined),
      ),
    );
    await expect(watchTokenTransfers(kit.deps, "user-1", token, undefined)).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
    });
    await streams[0]?.return?.();
    const again = await watchTokenTransfers(kit.deps, "user-1", token, undefined);
    const aborted = new AbortController();
    const another = await watchTokenTransfers(kit.deps, "user-2", token, aborted.signal);
    aborted.abort();
    expect(await another.next()).toEqual({ done: true, value: undefined });
    for (const stream of [...streams.slice(1), again]) await stream.return?.();
    expect(tokenStreamStats()).toEqual({ channels: 0, streams: 0 });
  });
});
