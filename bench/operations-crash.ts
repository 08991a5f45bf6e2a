// Crash safety of the token operations outbox at the full size (issue 16, Proof): `--mints`
// mint operations (default 100, amounts 1…N, each with an idempotency key) requested at once
// through `requestOperation`; then `--kills` times (default 10) a real worker process
// (`kit/api/src/main.ts --role worker`) is started and `kill -9`ed at a random point of its work;
// then a last worker finishes. Checked and printed: the token's totalSupply rose by exactly the sum
// requested, the agent's nonces of the confirmed operations are exactly start…start+N−1 (no gap,
// none twice) and the chain's nonce is start+N, every operation is confirmed (none left pending,
// signed or submitted), every kill landed mid-run; per kill, the status counts it left behind; the
// wall time. Exit code 1 when a check fails. The bounded version is a test
// (kit/api/src/domains/operations/crash.test.ts: 30 mints, 3 kills).
//
// A kill point: a number of status changes (pending→signed→submitted→confirmed: 3 per mint) drawn
// at random in the kill's own slice of the run; then, for half the kills, 0–30 ms more. The sender
// signs and stores in batches of 25, so status changes jump: a kill at once tends to land between
// a batch's store and its broadcast (signed), a later one among its broadcasts and confirmations.
//
//   bun bench/operations-crash.ts [--mints 100] [--kills 10] [--seed <n>]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { freePort } from "../kit/api/src/dev/ports";
import { createPasswordUser } from "../kit/api/src/domains/auth/service";
import { tokenGrants } from "../kit/api/src/domains/operations/schema";
import { requestOperation } from "../kit/api/src/domains/operations/service";
import { tokens } from "../kit/api/src/domains/tokens/schema";
import { chainAccounts } from "../kit/api/src/infra/chain-accounts";
import { type DevChain, startDevChain, tokenAbi, writeDeployment } from "../kit/contracts/src/index";
import { type BenchKit, startBenchKit } from "./lib/kit";
import { gitCommit, machineInfo, note, print, printSummary, runBench, table, today } from "./lib/report";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { mints: { type: "string" }, kills: { type: "string" }, seed: { type: "string" } },
});
const mints = Number(values.mints ?? 100);
const kills = Number(values.kills ?? 10);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isInteger(mints) || mints < 1 || !Number.isInteger(kills) || kills < 0 || !Number.isInteger(seed)) {
  throw new Error("--mints must be an integer ≥ 1, --kills an integer ≥ 0, --seed an integer");
}

/** mulberry32: a run's kill points come back with its `--seed`. */
function seeded(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = seeded(seed);

const STATUSES = ["pending", "signed", "submitted", "confirmed", "failed"] as const;
type Snapshot = Record<(typeof STATUSES)[number] | "other", number> & { changes: number };

interface Kill {
  kill: number;
  /** Status changes the kill waited for (all the run's, since the requests). */
  target: number;
  /** From the spawn to the SIGKILL. */
  lifeMs: number;
  before: Snapshot;
  after: Snapshot;
}

interface Run {
  dev: DevChain;
  kit: BenchKit;
  token: { address: `0x${string}`; decimals: number };
  ids: string[];
  /** Every worker's environment: the bench kit's, with a sweep every second. */
  env: Record<string, string>;
}

const abort = new AbortController();
let current: Subprocess | undefined;

const MAIN = join(import.meta.dir, "../kit/api/src/main.ts");

/** `main.ts --role worker` as a child process; its stderr kept (start-up failures, crashes). */
async function spawnWorker(env: Record<string, string>): Promise<{ child: Subprocess; stderr(): string }> {
  const child = Bun.spawn(["bun", MAIN, "--role", "worker"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...env,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  current = child;
  let errors = "";
  const decoder = new TextDecoder();
  // Drained continuously, so a chatty process never blocks on a full pipe.
  (async () => {
    const reader = child.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      errors += decoder.decode(value, { stream: true });
    }
  })().catch(() => {});
  return { child, stderr: () => errors };
}

/** Status counts and status changes so far, from one statement (one view of the database). */
async function snapshot(kit: BenchKit, ids: string[]): Promise<Snapshot> {
  const counts: Snapshot = { pending: 0, signed: 0, submitted: 0, confirmed: 0, failed: 0, other: 0, changes: 0 };
  const { rows } = await kit.deps.pool.query<{ status: string | null; n: number }>(
    `select status, count(*)::int as n from token_operations where id = any($1::uuid[]) group by status
     union all
     select null, count(*)::int from token_operation_history where operation_id = any($1::uuid[]) and from_status is not null`,
    [ids],
  );
  for (const { status, n } of rows) {
    if (status === null) counts.changes = n;
    else counts[STATUSES.find((s) => s === status) ?? "other"] += n;
  }
  return counts;
}

/** A dev chain, a bench Kit on it with the demo equity indexed, an issuer granted on it. */
async function setUp(cleanups: (() => Promise<unknown>)[]) {
  const dev = await startDevChain();
  cleanups.push(() => dev.stop());
  const dataDir = await mkdtemp(join(tmpdir(), "kit-bench-crash-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const deploymentFile = join(dataDir, "deployment.json");
  await writeDeployment(deploymentFile, dev.deployment);
  const kit = await startBenchKit({
    env: {
      RPC_URL: dev.rpcUrl,
      DATA_DIR: dataDir,
      CHAIN_DEPLOYMENT_FILE: deploymentFile,
      OPERATIONS_SWEEP_SECONDS: "1",
      FX_PROVIDERS: "manual",
    },
  });
  cleanups.push(() => kit.stop());
  const token = dev.deployment.tokens[1] ?? dev.deployment.tokens[0];
  if (!token) throw new Error("no demo token");
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
  return { dev, kit, token, issuer };
}

/** Mints of 1…N whole tokens to one investor, all requested at once; the sum in the smallest unit. */
async function requestMints(setup: Awaited<ReturnType<typeof setUp>>) {
  const { dev, kit, token, issuer } = setup;
  const [alice] = dev.accounts.investors;
  if (!alice) throw new Error("no investor");
  const amounts = Array.from({ length: mints }, (_, i) => BigInt(i + 1));
  const requested = await Promise.all(
    amounts.map((amount, i) =>
      requestOperation(
        kit.deps,
        { id: issuer.id, role: "issuer" },
        {
          kind: "mint",
          input: {
            address: token.address,
            recipients: [{ to: alice.address, amount: amount.toString() }],
            idempotencyKey: `crash-${seed}-${i}`,
          },
        },
      ),
    ),
  );
  const ids = requested.map((r) => r.operation.id);
  if (new Set(ids).size !== mints) throw new Error(`${mints} requests recorded ${new Set(ids).size} operations`);
  return { ids, sum: amounts.reduce((a, b) => a + b, 0n) * 10n ** BigInt(token.decimals) };
}

/**
 * Starts a worker and SIGKILLs it once the run has made `target` status changes (drawn in this
 * kill's slice of the 3·N, never below one more than it found), at once or 0–30 ms after.
 */
async function killAtRandomPoint(run: Run, index: number): Promise<Kill> {
  const before = await snapshot(run.kit, run.ids);
  const slice = (3 * mints) / (kills + 2);
  const target = Math.max(before.changes + 1, Math.floor((index + 1 + random()) * slice));
  const started = performance.now();
  const worker = await spawnWorker(run.env);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (abort.signal.aborted) throw new Error("interrupted");
    if (worker.child.exitCode !== null) throw new Error(`worker ${index + 1} exited by itself:\n${worker.stderr()}`);
    if (Date.now() > deadline) throw new Error(`worker ${index + 1} made no progress in 60 s:\n${worker.stderr()}`);
    if ((await snapshot(run.kit, run.ids)).changes >= target) break;
    await Bun.sleep(1);
  }
  // Half the kills at once (within a batch's steps: stored signed, not yet broadcast), half later.
  const delayMs = random() < 0.5 ? 0 : random() * 30;
  if (delayMs > 0) await Bun.sleep(delayMs);
  worker.child.kill("SIGKILL");
  await worker.child.exited;
  const lifeMs = performance.now() - started;
  const after = await snapshot(run.kit, run.ids);
  note(
    `kill ${index + 1}: at ${after.changes} status changes (target ${target}) after ${lifeMs.toFixed(0)} ms — ` +
      `pending ${after.pending}, signed ${after.signed}, submitted ${after.submitted}, confirmed ${after.confirmed}`,
  );
  return { kill: index + 1, target, lifeMs, before, after };
}

/** A last worker, left to finish: until every operation is confirmed (or one failed), then SIGTERM. */
async function finish(run: Run): Promise<{ ms: number; exitCode: number | null }> {
  const started = performance.now();
  const worker = await spawnWorker(run.env);
  const deadline = Date.now() + 180_000;
  try {
    for (;;) {
      if (abort.signal.aborted) throw new Error("interrupted");
      if (worker.child.exitCode !== null) throw new Error(`the last worker exited by itself:\n${worker.stderr()}`);
      const now = await snapshot(run.kit, run.ids);
      if (now.confirmed + now.failed === mints) break;
      if (Date.now() > deadline) {
        note(`the last worker left work after 180 s: ${JSON.stringify(now)}`);
        break;
      }
      await Bun.sleep(20);
    }
  } finally {
    worker.child.kill("SIGTERM");
    const timer = setTimeout(() => worker.child.kill("SIGKILL"), 10_000);
    await worker.child.exited;
    clearTimeout(timer);
  }
  return { ms: performance.now() - started, exitCode: worker.child.exitCode };
}

interface Check {
  check: string;
  expected: string;
  actual: string;
  ok: boolean;
}

async function verify(run: Run, sum: bigint, supplyBefore: bigint, startNonce: number, killed: Kill[]) {
  const { dev, kit, token, ids } = run;
  const agent = chainAccounts(kit.config, true).agent.address;
  const supply = await totalSupply(dev, token.address);
  const chainNonce = await dev.clients.publicClient.getTransactionCount({ address: agent });
  const { rows } = await kit.deps.pool.query<{ status: string; nonce: string | null }>(
    "select status, nonce from token_operations where id = any($1::uuid[])",
    [ids],
  );
  const confirmed = rows.filter((r) => r.status === "confirmed");
  const nonces = confirmed.map((r) => Number(r.nonce));
  const seen = new Set(nonces);
  const expectedNonces = Array.from({ length: mints }, (_, i) => startNonce + i);
  const missing = expectedNonces.filter((n) => !seen.has(n));
  const twice = nonces.length - seen.size;
  const outside = nonces.filter((n) => n < startNonce || n >= startNonce + mints).length;
  const limbo = rows.filter((r) => ["pending", "signed", "submitted"].includes(r.status)).length;
  const others = rows.length - confirmed.length - limbo;
  const midRun = killed.filter((k) => k.after.confirmed < mints).length;
  const minted = supply - supplyBefore;
  return [
    { check: "totalSupply increase", expected: String(sum), actual: String(minted), ok: minted === sum },
    {
      check: "operations confirmed",
      expected: String(mints),
      actual: String(confirmed.length),
      ok: confirmed.length === mints,
    },
    { check: "left in limbo (pending/signed/submitted)", expected: "0", actual: String(limbo), ok: limbo === 0 },
    { check: "failed or other", expected: "0", actual: String(others), ok: others === 0 },
    {
      check: `nonces ${startNonce}…${startNonce + mints - 1} missing`,
      expected: "0",
      actual: missing.length > 0 ? `${missing.length} (${missing.slice(0, 5).join(", ")})` : "0",
      ok: missing.length === 0,
    },
    { check: "nonces used twice", expected: "0", actual: String(twice), ok: twice === 0 },
    { check: "nonces outside the range", expected: "0", actual: String(outside), ok: outside === 0 },
    {
      check: "agent's chain nonce",
      expected: String(startNonce + mints),
      actual: String(chainNonce),
      ok: chainNonce === startNonce + mints,
    },
    { check: "kills that landed mid-run", expected: String(kills), actual: String(midRun), ok: midRun === kills },
  ] satisfies Check[];
}

function totalSupply(dev: DevChain, address: `0x${string}`): Promise<bigint> {
  return dev.clients.publicClient.readContract({ address, abi: tokenAbi, functionName: "totalSupply" });
}

/** Status changes by kind over the run: how often an operation went back (its nonce re-signed). */
async function transitions(kit: BenchKit, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await kit.deps.pool.query<{ step: string; n: number }>(
    `select coalesce(from_status, 'new') || '→' || to_status as step, count(*)::int as n
       from token_operation_history where operation_id = any($1::uuid[]) group by 1 order by 2 desc`,
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.step, r.n]));
}

function report(
  machine: ReturnType<typeof machineInfo>,
  killed: Kill[],
  checks: Check[],
  figures: Record<string, unknown>,
): void {
  print(`# Token operations outbox, kill -9 — ${today()} ${gitCommit() ?? ""}`);
  print(JSON.stringify(machine));
  print(
    `${mints} mints (amounts 1…${mints}) requested at once; ${kills} workers killed (SIGKILL), then one finished; seed ${seed}`,
  );
  const rows = killed.map((k) => [
    String(k.kill),
    String(k.target),
    String(k.after.changes),
    String(k.after.changes - k.before.changes),
    k.lifeMs.toFixed(0),
    String(k.after.pending),
    String(k.after.signed),
    String(k.after.submitted),
    String(k.after.confirmed),
    String(k.after.signed + k.after.submitted),
  ]);
  print(
    table(
      [
        "kill",
        "target",
        "changes",
        "by this worker",
        "life ms",
        "pending",
        "signed",
        "submitted",
        "confirmed",
        "interrupted",
      ],
      rows,
    ),
  );
  print(`status changes: ${JSON.stringify(figures.transitions)}`);
  print(`wall: ${figures.wallSeconds} s (requests → all confirmed); last worker ${figures.lastWorkerSeconds} s`);
  print(
    table(
      ["check", "expected", "actual", "ok"],
      checks.map((c) => [c.check, c.expected, c.actual, c.ok ? "yes" : "NO"]),
    ),
  );
  printSummary("operations-crash", machine, { mints, kills, seed, ...figures, killed, checks });
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const setup = await setUp(cleanups);
    const { dev, kit, token } = setup;
    const agent = chainAccounts(kit.config, true).agent.address;
    const supplyBefore = await totalSupply(dev, token.address);
    const startNonce = await dev.clients.publicClient.getTransactionCount({ address: agent });
    const started = performance.now();
    const { ids, sum } = await requestMints(setup);
    note(`${mints} mints requested in ${(performance.now() - started).toFixed(0)} ms; killing ${kills} workers`);
    const run: Run = { dev, kit, token, ids, env: kit.env };
    const killed: Kill[] = [];
    for (let i = 0; i < kills; i++) killed.push(await killAtRandomPoint(run, i));
    const last = await finish(run);
    const wallSeconds = ((performance.now() - started) / 1000).toFixed(1);
    const checks = await verify(run, sum, supplyBefore, startNonce, killed);
    report(machine, killed, checks, {
      wallSeconds,
      lastWorkerSeconds: (last.ms / 1000).toFixed(1),
      lastWorkerExit: last.exitCode,
      requested: String(sum),
      startNonce,
      transitions: await transitions(kit, ids),
    });
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0)
      throw new Error(`${failed.length} check(s) failed: ${failed.map((c) => c.check).join("; ")}`);
  } finally {
    current?.kill("SIGKILL");
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  }
}

runBench("operations-crash", main, { interrupt: () => abort.abort() });
