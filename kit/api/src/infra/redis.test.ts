import { afterAll, expect, test } from "bun:test";
import diagnosticsChannel from "node:diagnostics_channel";
import { loadConfig } from "../config";
import { createLogger } from "./log";
import { closeRedis, createRedis, redisReady } from "./redis";

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
