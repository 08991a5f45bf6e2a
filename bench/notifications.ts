// The notifications outbox and its webhook channel under load (issue 18): `--events` events
// (default 10,000) recorded through `recordNotification`, each in a transaction of its own followed
// by `kickDispatcher` (as the domains record them), by `--producers` concurrent producers at
// `--rate` events/s (0: as fast as they can); an in-process worker (the composed notifications and
// webhooks jobs, their schedules included) dispatches them to the inbox and to `--endpoints` webhook
// endpoints served by a local HTTP receiver. Reported: deliveries/s (first record → last arrival),
// p50/p95/p99/max event → delivered (the receiver's arrival time minus the event's occurred_at; the
// first arrival of each webhook-id), the outbox lag (age of the oldest undispatched event, sampled
// every 100 ms: its max and p95), and whether p95 ≤ 1 s (the issue's target). Every request is
// checked with the independent `standardwebhooks` library; the inbox rows are counted.
//
// `--concurrency` sets WORKER_CONCURRENCY (default: Kit's).
//
//   bun bench/notifications.ts [--events 10000] [--rate 0] [--producers 8] [--endpoints 1] [--concurrency 4]
import { parseArgs } from "node:util";
import type { Server } from "bun";
import { createPasswordUser } from "../kit/api/src/domains/auth/service";
import { kickDispatcher, recordNotification } from "../kit/api/src/domains/notifications/record";
import { createEndpoint } from "../kit/api/src/domains/webhooks/endpoints";
import { createMetrics } from "../kit/api/src/infra/metrics";
import { jobDefinitions } from "../kit/api/src/jobs/registry";
import { startWorker } from "../kit/api/src/jobs/worker";
import { verifiesWith } from "../kit/api/test/webhook-receiver";
import { type BenchKit, startBenchKit } from "./lib/kit";
import { gitCommit, machineInfo, note, print, printSummary, runBench, table, today } from "./lib/report";

const TARGET_P95_MS = 1_000;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    events: { type: "string" },
    rate: { type: "string" },
    producers: { type: "string" },
    endpoints: { type: "string" },
    concurrency: { type: "string" },
  },
});
const events = Number(values.events ?? 10_000);
const rate = Number(values.rate ?? 0);
const producers = Number(values.producers ?? 8);
const endpointCount = Number(values.endpoints ?? 1);
if (![events, producers, endpointCount].every((n) => Number.isInteger(n) && n >= 1) || !(rate >= 0)) {
  throw new Error("--events, --producers and --endpoints must be integers ≥ 1, --rate a number ≥ 0");
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

interface Arrival {
  path: string;
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** The local receiver: keeps every request with its arrival time (wall clock, as occurred_at is). */
function startReceiver(): { url: string; arrivals: Arrival[]; server: Server<undefined> } {
  const arrivals: Arrival[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const at = Date.now();
      const body = await request.text();
      arrivals.push({ path: new URL(request.url).pathname, at, headers: Object.fromEntries(request.headers), body });
      return new Response("ok");
    },
  });
  return { url: server.url.href.replace(/\/$/, ""), arrivals, server };
}

/** Age in ms of the oldest undispatched event, every 100 ms until stopped. */
function sampleOutboxLag(kit: BenchKit): { samples: number[]; stop(): Promise<void> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await kit.deps.pool.query<{ ms: number | null }>(
        `select extract(epoch from (now() - min(occurred_at))) * 1000 as ms
           from notification_events where dispatched_at is null`,
      );
      samples.push(Number(rows[0]?.ms ?? 0));
      await Bun.sleep(100);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Records the events, each in its own transaction then a kick, paced at `rate` (0: unpaced). */
async function record(kit: BenchKit, recipient: string): Promise<void> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      for (;;) {
        const i = next++;
        if (i >= events) return;
        if (rate > 0) {
          const due = started + (i * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 0) await Bun.sleep(wait);
        }
        await kit.deps.db.transaction((tx) =>
          recordNotification(tx, "kyc.submitted", { recipients: [recipient] }, { applicationId: `bench-${i}` }),
        );
        await kickDispatcher(kit.deps);
      }
    }),
  );
}

async function waitForDeliveries(kit: BenchKit, arrivals: Arrival[], expected: number): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const { rows } = await kit.deps.pool.query<{ n: number }>(
      "select count(*)::int as n from webhook_deliveries where status = 'delivered'",
    );
    if ((rows[0]?.n ?? 0) >= expected) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out: ${rows[0]?.n} of ${expected} deliveries delivered, ${arrivals.length} arrivals`);
    }
    await Bun.sleep(50);
  }
}

async function setUp(kit: BenchKit, receiverUrl: string) {
  const user = await createPasswordUser(kit.deps, {
    email: "subscriber@bench.example",
    password: "a long bench password",
    role: "investor",
    name: "bench subscriber",
  });
  if (!user) throw new Error("no bench user");
  const secrets = new Map<string, string>();
  for (let i = 0; i < endpointCount; i++) {
    const { secret } = await createEndpoint(
      kit.deps,
      { userId: user.id, mayManageSystem: false },
      { url: `${receiverUrl}/e${i}`, eventTypes: ["kyc.submitted"], scope: "user" },
    );
    secrets.set(`/e${i}`, secret);
  }
  return { userId: user.id, secrets };
}

async function run(kit: BenchKit): Promise<void> {
  const machine = machineInfo();
  const receiver = startReceiver();
  try {
    const { userId, secrets } = await setUp(kit, receiver.url);
    const definitions = jobDefinitions(kit.config).filter((d) => /^(notifications|webhooks)\./.test(d.name));
    const worker = await startWorker(kit.deps, definitions, { metrics: createMetrics() });
    const lag = sampleOutboxLag(kit);
    const startedAt = Date.now();
    await record(kit, userId);
    const recordedMs = Date.now() - startedAt;
    note(`${events} events recorded in ${recordedMs} ms`);
    await waitForDeliveries(kit, receiver.arrivals, events * endpointCount);
    await lag.stop();
    await worker.close();
    await report(kit, { machine, startedAt, recordedMs, arrivals: receiver.arrivals, secrets, lag: lag.samples });
  } finally {
    receiver.server.stop(true);
  }
}

interface Outcome {
  machine: ReturnType<typeof machineInfo>;
  startedAt: number;
  recordedMs: number;
  arrivals: Arrival[];
  secrets: Map<string, string>;
  lag: number[];
}

/** Where the time goes, from the rows' own timestamps: the dispatcher's share and the sender's. */
async function stageTimes(kit: BenchKit) {
  const { rows } = await kit.deps.pool.query<Record<string, number>>(`
    select percentile_cont(0.5) within group (order by d) as "dispatchP50Ms",
           percentile_cont(0.95) within group (order by d) as "dispatchP95Ms",
           percentile_cont(0.5) within group (order by s) as "sendP50Ms",
           percentile_cont(0.95) within group (order by s) as "sendP95Ms"
    from (select extract(epoch from (e.dispatched_at - e.occurred_at)) * 1000 as d,
                 extract(epoch from (w.delivered_at - e.dispatched_at)) * 1000 as s
            from notification_events e join webhook_deliveries w on w.event_id = e.id::text) t`);
  const row = rows[0] ?? {};
  const ms = (key: string) => Math.round(Number(row[key] ?? 0));
  return {
    dispatchP50Ms: ms("dispatchP50Ms"),
    dispatchP95Ms: ms("dispatchP95Ms"),
    sendP50Ms: ms("sendP50Ms"),
    sendP95Ms: ms("sendP95Ms"),
  };
}

async function report(kit: BenchKit, outcome: Outcome): Promise<void> {
  const { arrivals, secrets } = outcome;
  const { rows: occurred } = await kit.deps.pool.query<{ id: string; at: Date }>(
    "select id, occurred_at as at from notification_events",
  );
  const occurredAt = new Map(occurred.map((row) => [row.id, row.at.getTime()]));
  const first = new Map<string, number>();
  let unverified = 0;
  for (const arrival of arrivals) {
    const key = `${arrival.path} ${arrival.headers["webhook-id"]}`;
    if (!first.has(key)) first.set(key, arrival.at);
    if (!verifiesWith(secrets.get(arrival.path) ?? "", arrival)) unverified += 1;
  }
  const latencies = [...first]
    .map(([key, at]) => at - (occurredAt.get(key.split(" ")[1] ?? "") ?? Number.NaN))
    .sort((a, b) => a - b);
  const lastArrival = Math.max(...arrivals.map((a) => a.at));
  const deliveries = first.size;
  const wallMs = lastArrival - outcome.startedAt;
  const lagSorted = [...outcome.lag].sort((a, b) => a - b);
  const { rows: inbox } = await kit.deps.pool.query<{ n: number }>("select count(*)::int as n from notifications");
  const stages = await stageTimes(kit);
  const figures = {
    events,
    endpoints: secrets.size,
    rate,
    producers,
    recordedPerSecond: (events * 1000) / outcome.recordedMs,
    deliveries,
    duplicates: arrivals.length - deliveries,
    unverified,
    inboxRows: inbox[0]?.n ?? 0,
    deliveriesPerSecond: (deliveries * 1000) / wallMs,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
    outboxLagMaxMs: Math.round(lagSorted.at(-1) ?? 0),
    outboxLagP95Ms: Math.round(percentile(lagSorted, 95)),
    meetsTarget: percentile(latencies, 95) <= TARGET_P95_MS,
    ...stages,
  };
  const { webhooks, notifications, worker } = kit.config;
  print(`# Notifications outbox → webhooks — ${today()} ${gitCommit() ?? ""}`);
  print(JSON.stringify(outcome.machine));
  print(
    `${events} events (${rate > 0 ? `${rate}/s` : "unpaced"}, ${producers} producers), ${secrets.size} endpoint(s) + inbox; ` +
      `WORKER_CONCURRENCY=${worker.concurrency}, NOTIFICATIONS_DISPATCH_SECONDS=${notifications.dispatchSeconds}, ` +
      `WEBHOOK_SWEEP_SECONDS=${webhooks.sweepSeconds}`,
  );
  print(
    table(
      ["deliveries/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "outbox lag max ms", "lag p95 ms", "p95 ≤ 1 s"],
      [
        [
          figures.deliveriesPerSecond.toFixed(0),
          String(figures.p50Ms),
          String(figures.p95Ms),
          String(figures.p99Ms),
          String(figures.maxMs),
          String(figures.outboxLagMaxMs),
          String(figures.outboxLagP95Ms),
          figures.meetsTarget ? "yes" : "NO",
        ],
      ],
    ),
  );
  print(
    `recorded ${figures.recordedPerSecond.toFixed(0)} events/s; ${deliveries} deliveries, ` +
      `${figures.duplicates} duplicate(s), ${unverified} unverified; ${figures.inboxRows} inbox rows`,
  );
  print(
    `stages (p50/p95 ms): occurred → dispatched ${stages.dispatchP50Ms}/${stages.dispatchP95Ms}, ` +
      `dispatched → delivered (recorded) ${stages.sendP50Ms}/${stages.sendP95Ms}`,
  );
  if (deliveries !== events * secrets.size || unverified > 0 || figures.inboxRows !== events) {
    throw new Error("the deliveries or the inbox do not match the events recorded");
  }
  printSummary("notifications", outcome.machine, figures);
}

const kit = await startBenchKit({
  env: { WEBHOOK_ALLOW_PRIVATE: "true", ...(values.concurrency ? { WORKER_CONCURRENCY: values.concurrency } : {}) },
});
runBench("notifications", () => run(kit).finally(() => kit.stop()), { interrupt: () => void kit.stop() });
