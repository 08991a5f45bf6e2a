// tokens.events: what the indexer publishes (events.ts) reaches subscribers over SSE, in order,
// with exact amounts; other tokens' and malformed messages do not; streams release their
// subscription. Every read has a deadline; every stream is closed by its test.
import { describe, expect, test } from "bun:test";
import { getAddress } from "viem";
import { createTestKit } from "../../../test/kit";
import { insertToken, randomAddress } from "../../../test/tokens";
import { createUser } from "../../../test/users";
import { publishTokenEvents, transfersChannel } from "./events";
import { MAX_TOKEN_STREAMS_PER_USER, tokenStreamStats, watchTokenTransfers } from "./live";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

const kit = await createTestKit();
const investor = await createUser(kit, "investor");
const token = await insertToken(kit, { decimals: 6 });
const otherToken = await insertToken(kit, { decimals: 0 });
const chainId = kit.config.auth.chainId;
const READ_TIMEOUT_MS = 5_000;

const [alice, bob] = [randomAddress(), randomAddress()];
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** Reads server-sent events one at a time, each within a deadline; comments (keep-alives) are skipped. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let pending: ReturnType<typeof reader.read> | undefined;
  return {
    async next(): Promise<{ event: string; data: Json }> {
      const deadline = Date.now() + READ_TIMEOUT_MS;
      for (;;) {
        const boundary = buffer.indexOf("\n\n");
        if (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const lines = block.split("\n").filter((line) => !line.startsWith(":"));
          if (lines.length === 0) continue;
          const event =
            lines
              .find((l) => l.startsWith("event:"))
              ?.slice(6)
              .trim() ?? "message";
          const data = lines
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trim())
            .join("\n");
          return { event, data: data ? JSON.parse(data) : undefined };
        }
        pending ??= reader.read();
        const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), deadline - Date.now()));
        const result = await Promise.race([pending, timer]);
        if (result === "timeout") throw new Error("no event within the deadline");
        pending = undefined;
        if (result.done) throw new Error("stream ended");
        buffer += decoder.decode(result.value, { stream: true });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

async function waitFor(condition: () => boolean, what: string) {
  const deadline = Date.now() + READ_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe("tokens.events", () => {
  test("streams the transfers published after a committed batch, and reorgs, over SSE", async () => {
    const response = await kit.request(`/api/tokens/${getAddress(token)}/events`, {
      headers: { cookie: investor.cookie, accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/event-stream");
    const stream = sseReader(response.body as ReadableStream<Uint8Array>);
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

      const first = await stream.next();
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
      expect((await stream.next()).data).toMatchObject({
        logIndex: 1,
        value: { raw: "100000000000000000000000001", formatted: "100000000000000000000.000001" },
      });
      expect((await stream.next()).data).toEqual({
        type: "reorg",
        token: getAddress(token),
        ancestorBlock: "7",
        removed: 2,
      });
    } finally {
      await stream.cancel();
    }
    await waitFor(() => tokenStreamStats(kit.deps.redis).streams === 0, "the stream to be released");
    expect(tokenStreamStats(kit.deps.redis).channels).toBe(0);
  });

  test("anonymous callers are refused; an unknown token is NOT_FOUND", async () => {
    expect((await kit.request(`/api/tokens/${token}/events`)).status).toBe(401);
    const unknown = await kit.request(`/api/tokens/${randomAddress()}/events`, {
      headers: { cookie: investor.cookie },
    });
    expect(unknown.status).toBe(404);
    expect(tokenStreamStats(kit.deps.redis).streams).toBe(0);
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
    expect(tokenStreamStats(kit.deps.redis)).toEqual({ channels: 0, streams: 0 });
  });
});
