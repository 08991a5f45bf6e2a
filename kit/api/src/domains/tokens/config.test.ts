// The indexer's settings: addresses with optional start blocks, confirmations, limits.
import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../config";

test("INDEXER_* are parsed: addresses lowercased with optional start blocks; defaults", () => {
  const config = loadConfig({
    INDEXER_TOKENS: "0xAbCdEf0000000000000000000000000000000001@12, 0xabcdef0000000000000000000000000000000002",
    INDEXER_FACTORY: "0xABCDEF0000000000000000000000000000000003@7",
    INDEXER_CONFIRMATIONS: "12",
  });
  expect(config.indexer).toEqual({
    tokens: [
      { address: "0xabcdef0000000000000000000000000000000001", startBlock: 12 },
      { address: "0xabcdef0000000000000000000000000000000002", startBlock: undefined },
    ],
    factory: { address: "0xabcdef0000000000000000000000000000000003", startBlock: 7 },
    confirmations: 12,
    pollIntervalMs: 1000,
    maxLagBlocks: 50,
    maxBlockRange: 10_000,
    reorgWindow: 256,
  });
  expect(loadConfig({}).indexer.tokens).toEqual([]);
  expect(loadConfig({}).indexer.confirmations).toBe(0);
});

test("bad INDEXER_* values are refused, naming the variable", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };
  expect(problems({ INDEXER_TOKENS: "0x1234" })[0]).toStartWith("INDEXER_TOKENS.0: expected 0x-addresses");
  expect(problems({ INDEXER_FACTORY: "0xabcdef0000000000000000000000000000000003@x" })[0]).toStartWith(
    "INDEXER_FACTORY: expected 0x-addresses",
  );
  expect(problems({ INDEXER_CONFIRMATIONS: "-1" })[0]).toStartWith("INDEXER_CONFIRMATIONS: expected 0 or more");
  expect(problems({ INDEXER_MAX_BLOCK_RANGE: "0" })[0]).toStartWith("INDEXER_MAX_BLOCK_RANGE: expected");
  expect(new ConfigError(["x"]).message).toContain("x");
});
