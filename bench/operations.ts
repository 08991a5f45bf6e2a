// The token operations outbox under load (issue 16): N mints (default 1,000) requested at once
// through `requestOperation` (the procedure's service: checks, idempotency key, record, queue),
// sent and confirmed by an in-process worker on anvil (automine); then the same N mints sent by a
// raw viem `writeContract` loop from the same key, as the baseline. Reported: operations/s
// (first request → last confirmation), p50/p95 request → confirmed, the ratio to the baseline
// (target ≥ 0.8×) and the nonce gaps of the outbox's transactions (target 0). Rounds alternate
// outbox and baseline on one chain.
//
//   bun bench/operations.ts [--mints 1000] [--rounds 1]
import { parseArgs } from "node:util";
import { createPasswordUser } from "../kit/api/src/domains/auth/service";
import { operationJobs } from "../kit/api/src/domains/operations/jobs";
import { tokenGrants } from "../kit/api/src/domains/operations/schema";
import { requestOperation } from "../kit/api/src/domains/operations/service";
import { tokens } from "../kit/api/src/domains/tokens/schema";
import { createMetrics } from "../kit/api/src/infra/metrics";
import { startWorker } from "../kit/api/src/jobs/worker";
import { startDevChain, tokenAbi } from "../kit/contracts/src/index";
import { startBenchKit } from "./lib/kit";
import { gitCommit, machineInfo, note, print, table, today } from "./lib/report";

const TARGET_RATIO = 0.8;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { mints: { type: "string" }, rounds: { type: "string" } },
});
const mints = Number(values.mints ?? 1_000);
const rounds = Number(values.rounds ?? 1);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

const dev = await startDevChain();
const kit = await startBenchKit({ env: { RPC_URL: dev.rpcUrl } });
try {
  const token = dev.deployment.tokens[1] ?? dev.deployment.tokens[0];
  if (!token) throw new Error("no demo token");
  const [alice] = dev.accounts.investors;
  if (!alice) throw new Error("no investor");
  const chainId = kit.config.chain.id;
  await kit.deps.db.insert(tokens).values({
    chainId,
    address: token.address.toLowerCase(),
    name: token.name,
    symbol: token.symbol,
    decimals: token.decimals,
    kind: "t-rex",
    discoveredVia: "config",
    deploymentBlock: 1,
  });
  const issuer = await createPasswordUser(kit.deps, {
    email: "issuer@bench.example",
    password: "a long bench password",
    role: "issuer",
    name: "bench issuer",
  });
  if (!issuer) throw new Error("no issuer");
  await kit.deps.db.insert(tokenGrants).values({ chainId, token: token.address.toLowerCase(), userId: issuer.id });
  const definitions = operationJobs(kit.config).map((d) => ({ ...d, everySeconds: undefined }));
  const worker = await startWorker(kit.deps, definitions, { metrics: createMetrics() });
  const wallet = dev.clients.wallet(dev.accounts.deployer);
  const rows: string[][] = [];
  const summary: Record<string, unknown>[] = [];

  for (let round = 1; round <= rounds; round++) {
    // Outbox: every request at once, then wait for every confirmation.
    const started = performance.now();
    const startedAt = Date.now();
    const requested = await Promise.all(
      Array.from({ length: mints }, (_, i) =>
        requestOperation(
          kit.deps,
          { id: issuer.id, role: "issuer" },
          {
            kind: "mint",
            input: {
              address: token.address,
              recipients: [{ to: alice.address, amount: "1" }],
              idempotencyKey: `r${round}-${i}`,
            },
          },
        ),
      ),
    );
    const ids = requested.map((r) => r.operation.id);
    note(`round ${round}: ${mints} requests recorded in ${(performance.now() - started).toFixed(0)} ms`);
    for (;;) {
      const { rows: left } = await kit.deps.pool.query<{ n: number }>(
        "select count(*)::int as n from token_operations where id = any($1::uuid[]) and status <> 'confirmed'",
        [ids],
      );
      if (left[0]?.n === 0) break;
      await Bun.sleep(20);
    }
    const outboxMs = performance.now() - started;
    const { rows: timing } = await kit.deps.pool.query<{ ms: number; nonce: number; status: string }>(
      `select extract(epoch from (confirmed_at - created_at)) * 1000 as ms, nonce, status
         from token_operations where id = any($1::uuid[]) order by nonce`,
      [ids],
    );
    const latencies = timing.map((t) => Number(t.ms)).sort((a, b) => a - b);
    const nonces = timing.map((t) => Number(t.nonce));
    const gaps = nonces.slice(1).filter((n, i) => n !== (nonces[i] as number) + 1).length;
    const sinceStart = timing.length ? Date.now() - startedAt : 0;

    // Baseline: the same mints, one writeContract after the other, then the last receipt.
    const baseStarted = performance.now();
    const sentAt: number[] = [];
    let last: `0x${string}` | undefined;
    for (let i = 0; i < mints; i++) {
      last = await wallet.writeContract({
        address: token.address,
        abi: tokenAbi,
        functionName: "mint",
        args: [alice.address, 1n],
      });
      sentAt.push(performance.now() - baseStarted);
    }
    if (last) await dev.clients.publicClient.waitForTransactionReceipt({ hash: last });
    const baselineMs = performance.now() - baseStarted;
    const baseLatencies = sentAt.sort((a, b) => a - b); // automine: mined when the send returns

    const opsPerSecond = (mints * 1000) / outboxMs;
    const basePerSecond = (mints * 1000) / baselineMs;
    rows.push([
      String(round),
      opsPerSecond.toFixed(1),
      basePerSecond.toFixed(1),
      (opsPerSecond / basePerSecond).toFixed(3),
      percentile(latencies, 50).toFixed(0),
      percentile(latencies, 95).toFixed(0),
      percentile(baseLatencies, 95).toFixed(0),
      String(gaps),
    ]);
    summary.push({ round, mints, opsPerSecond, basePerSecond, ratio: opsPerSecond / basePerSecond, gaps, sinceStart });
    note(`round ${round}: outbox ${outboxMs.toFixed(0)} ms, baseline ${baselineMs.toFixed(0)} ms`);
  }
  await worker.close();

  print(`# Token operations outbox — ${today()} ${gitCommit() ?? ""}`);
  print(JSON.stringify(machineInfo()));
  print(
    `${mints} mints (1 recipient each) requested at once; anvil automine; CHAIN_CONFIRMATIONS=${kit.config.operations.confirmations}`,
  );
  print(
    table(
      [
        "round",
        "outbox ops/s",
        "baseline ops/s",
        "ratio",
        "p50 req→conf ms",
        "p95 req→conf ms",
        "baseline p95 ms",
        "nonce gaps",
      ],
      rows,
    ),
  );
  print(`target: ratio ≥ ${TARGET_RATIO}, nonce gaps 0`);
  print(JSON.stringify(summary));
} finally {
  await kit.stop();
  await dev.stop();
}
