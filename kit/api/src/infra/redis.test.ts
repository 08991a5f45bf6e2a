import { afterAll, expect, test } from "bun:test";
import diagnosticsChannel from "node:diagnostics_channel";
import { eventually } from "../../test/eventually";
import { redisOutcomesDuring } from "../../test/redis-commands";
import { startPrivateRedis } from "../../test/redis-server";
import { loadConfig } from "../config";
import { createLogger } from "./log";
import { closeRedis, createRedis, RedisSkippedError, redisReady } from "./redis";

const config = loadConfig({
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  REDIS_KEY_PREFIX: `test:redis-${crypto.randomUUID()}:`,
});
const redis = createRedis(config, createLogger(config), "tracing-test");
afterAll(() => closeRedis(redis));

test("ioredis traces commands only while a tracer listens (Bun's TracingChannel lacks hasSubscribers)", async () => {
  expect(await redisReady(redis, 3_000)).toBe(true);
  const channel = diagnosticsChannel.tracingChannel("ioredis:command") as unknown as {
    hasSubscribers: boolean;
    subscribe(handlers: Record<string, (message: unknown) => void>): void;
    unsubscribe(handlers: Record<string, (message: unknown) => void>): void;
  };
  expect(channel.hasSubscribers).toBe(false);

  const seen: string[] = [];
  const tracer = {
    start: (message: unknown) => seen.push((message as { command: string }).command),
    end: () => {},
    asyncStart: () => {},
    asyncEnd: () => {},
    error: () => {},
  };
  channel.subscribe(tracer);
  try {
    expect(channel.hasSubscribers).toBe(true);
    await redis.get("traced");
    expect(seen).toContain("get");
  } finally {
    channel.unsubscribe(tracer);
  }
  expect(channel.hasSubscribers).toBe(false);
  await redis.get("not traced");
  expect(seen.filter((c) => c === "get")).toHaveLength(1);
});

test("a Redis that stops answering costs one command timeout; later commands fail at once until it answers again", async () => {
  const stalling = await startPrivateRedis();
  const breakerConfig = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    REDIS_URL: stalling.url,
    REDIS_KEY_PREFIX: "breaker:",
    REDIS_COMMAND_TIMEOUT_MS: "300",
    REDIS_BREAKER_MS: "200",
  });
  const client = createRedis(breakerConfig, createLogger(breakerConfig), "breaker-test");
  try {
    expect(await redisReady(client, 3_000)).toBe(true);
    await client.set("kept", "1");

    stalling.pause();
    let outcomes: { name: string; outcome: string }[];
    try {
      outcomes = await redisOutcomesDuring(client, async () => {
        await client.get("kept").catch(() => null);
        // Several probe rounds go by (each a PING that times out): callers still are not kept waiting.
        await Bun.sleep(1_000);
        await client.get("kept").catch(() => null);
        await client.pipeline().get("kept").incr("counter").exec();
        await client
          .multi()
          .incr("counter")
          .exec()
          .catch(() => null);
        await client.ping().catch(() => null);
      });
    } finally {
      stalling.resume();
    }
    const skipped = new RedisSkippedError().message;
    expect(outcomes).toEqual([
      { name: "get", outcome: "Command timed out" },
      { name: "get", outcome: skipped },
      { name: "get", outcome: skipped },
      { name: "incr", outcome: skipped },
      { name: "multi", outcome: skipped },
      { name: "incr", outcome: skipped },
      { name: "exec", outcome: skipped },
      { name: "ping", outcome: skipped },
    ]);

    // Answering again: the next probe closes the breaker; nothing skipped was written.
    await eventually("the breaker to close", async () => (await client.get("kept").catch(() => null)) === "1");
    expect(await client.get("counter")).toBeNull();
  } finally {
    await closeRedis(client);
    await stalling.remove();
  }
}, 20_000);
