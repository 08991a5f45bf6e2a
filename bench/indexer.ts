// Indexer throughput (issue 6): ≥ 100,000 Transfer events produced on anvil in batches (a
// BulkToken's `churn`: 250 transfers per transaction, 4 transactions per block), then a cold
// backfill into Postgres timed from the indexer's start until its checkpoint is the chain head.
// Target: ≥ 20,000 events/s. Each round starts cold (the indexer's tables emptied, a new indexer);
// the figure is the median round. After each round, the tables are checked against the chain
// (transfer count, total supply, sum of balances).
//
//   bun bench/indexer.ts [--transfers 100000] [--per-tx 250] [--txs-per-block 4] [--holders 5000]
//                        [--rounds 3] [--max-block-range 10000] [--debug]
//
// --debug logs each batch of the indexer (blocks, logs, read and write milliseconds) to stdout.
//
// Progress goes to stderr; results to stdout, whose last line is a JSON summary.
import { parseArgs } from "node:util";
import { loadConfig, requireResolved } from "../kit/api/src/config";
import { startIndexer } from "../kit/api/src/domains/tokens/indexer";
import { createLogger } from "../kit/api/src/infra/log";
import { testChain } from "../kit/api/test/bulk-token";
import { startBenchKit } from "./lib/kit";
import { gitCommit, machineInfo, note, print, table, today } from "./lib/report";

const TARGET_EVENTS_PER_SECOND = 20_000;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    transfers: { type: "string", default: "100000" },
    "per-tx": { type: "string", default: "250" },
    "txs-per-block": { type: "string", default: "4" },
    holders: { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
    "max-block-range": { type: "string", default: "10000" },
    debug: { type: "boolean", default: false },
  },
});
const options = {
  transfers: Number(values.transfers),
  perTx: Number(values["per-tx"]),
  txsPerBlock: Number(values["txs-per-block"]),
  holders: Number(values.holders),
  rounds: Number(values.rounds),
  maxBlockRange: Number(values["max-block-range"]),
};

const machine = machineInfo();
const kit = await startBenchKit();
let exitCode = 0;
process.once("SIGINT", () => {
  kit.stop().finally(() => process.exit(130));
});

try {
  const chain = testChain(kit.config.chain.rpcUrl);
  const token = await chain.deploy("Bench", "BNCH");
  note(
    `producing ${options.transfers.toLocaleString("en")} transfers (${options.perTx} per tx, ${options.txsPerBlock} tx per block)…`,
  );
  const produceStarted = performance.now();
  await chain.churn(token.address, {
    seed: 42,
    holders: options.holders,
    transfers: options.transfers,
    perTx: options.perTx,
    txsPerBlock: options.txsPerBlock,
  });
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  const head = await chain.head();
  const blocks = head - token.block + 1;
  note(`produced in ${produceSeconds.toFixed(1)} s: blocks ${token.block}–${head}`);

  // The node's share: the same logs read with eth_getLogs alone, in one range.
  const readStarted = performance.now();
  const response = await fetch(kit.config.chain.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getLogs",
      params: [
        { address: token.address, fromBlock: `0x${token.block.toString(16)}`, toBlock: `0x${head.toString(16)}` },
      ],
    }),
  });
  const logs = ((await response.json()) as { result: unknown[] }).result;
  const readSeconds = (performance.now() - readStarted) / 1000;

  const pool = kit.deps.pool;
  const rounds: { seconds: number; eventsPerSecond: number }[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    await pool.query(
      "truncate tokens, token_transfers, token_balances, token_state_events, identity_registrations, indexer_checkpoints, indexer_blocks",
    );
    await pool.query("vacuum analyze token_transfers, token_balances");
    const config = requireResolved(
      loadConfig({
        NODE_ENV: "test",
        LOG_LEVEL: values.debug ? "debug" : "silent",
        DATABASE_URL: kit.config.db.url,
        REDIS_KEY_PREFIX: kit.config.redis.keyPrefix,
        S3_ENDPOINT: kit.config.s3.endpoint,
        RPC_URL: kit.config.chain.rpcUrl,
        INDEXER_TOKENS: `${token.address}@${token.block}`,
        INDEXER_POLL_MS: "10",
        INDEXER_MAX_BLOCK_RANGE: String(options.maxBlockRange),
      }),
    );
    const started = performance.now();
    const indexer = startIndexer({ config, redis: kit.deps.redis, log: createLogger(config) });
    for (;;) {
      const { rows } = await pool.query<{ block_number: string }>("select block_number from indexer_checkpoints");
      if (rows[0] && Number(rows[0].block_number) >= head) break;
      await Bun.sleep(2);
    }
    const seconds = (performance.now() - started) / 1000;
    await indexer.stop();
    const { rows } = await pool.query<{ transfers: string; supply: string; balances: string }>(
      `select (select count(*) from token_transfers)::text as transfers,
              (select total_supply from tokens)::text as supply,
              (select sum(balance) from token_balances)::text as balances`,
    );
    const supply = (await chain.call<bigint>(token.address, "totalSupply")).toString();
    const check = rows[0];
    if (Number(check?.transfers) !== options.transfers || check?.supply !== supply || check?.balances !== supply) {
      throw new Error(
        `round ${round}: the tables do not equal the chain: ${JSON.stringify({ ...check, chain: supply })}`,
      );
    }
    const eventsPerSecond = options.transfers / seconds;
    rounds.push({ seconds, eventsPerSecond });
    note(`round ${round}: ${seconds.toFixed(2)} s, ${Math.round(eventsPerSecond).toLocaleString("en")} events/s`);
  }

  const sorted = [...rounds].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor(sorted.length / 2)] as (typeof rounds)[number];
  const holders = await pool.query<{ n: string }>("select count(*)::text as n from token_balances where balance > 0");
  print(`Indexer cold backfill — ${today()}, ${gitCommit() ?? "no git"}`);
  print(`${machine.cpus} vCPU ${machine.cpuModel}, Bun ${machine.bun}, load ${machine.loadAvg1m} before the run`);
  print();
  print(
    table(
      ["figure", "value"],
      [
        ["transfers (events)", options.transfers.toLocaleString("en")],
        ["blocks", String(blocks)],
        ["holders with a balance", Number(holders.rows[0]?.n).toLocaleString("en")],
        ["produce on anvil (s)", produceSeconds.toFixed(1)],
        ["eth_getLogs alone, one range (s)", `${readSeconds.toFixed(2)} (${logs.length.toLocaleString("en")} logs)`],
        ...rounds.map((r, i) => [`backfill round ${i + 1} (s)`, r.seconds.toFixed(2)]),
        ["backfill, median (s)", median.seconds.toFixed(2)],
        ["events/s, median", Math.round(median.eventsPerSecond).toLocaleString("en")],
        ["target events/s", TARGET_EVENTS_PER_SECOND.toLocaleString("en")],
        ["met", median.eventsPerSecond >= TARGET_EVENTS_PER_SECOND ? "yes" : "NO"],
      ],
    ),
  );
  print(
    JSON.stringify({
      bench: "indexer",
      date: today(),
      commit: gitCommit(),
      machine,
      options,
      blocks,
      produceSeconds,
      getLogsSeconds: readSeconds,
      rounds,
      medianSeconds: median.seconds,
      eventsPerSecond: median.eventsPerSecond,
      target: TARGET_EVENTS_PER_SECOND,
      met: median.eventsPerSecond >= TARGET_EVENTS_PER_SECOND,
    }),
  );
} catch (error) {
  note(`bench failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  await kit.stop();
}
process.exit(exitCode);
