// The outbox's jobs, run by the worker role: `send` is queued with each operation ready to go;
// `sweep` runs on a schedule and does the same whatever was queued (a lost enqueue, a killed
// worker's operations, confirmations that need more blocks, reorgs).
import type { Config } from "../../config";
import type { Deps, JobDefinition } from "../../deps";
import { kickDispatcher } from "../notifications/record";
import { connectOperationsChain, type OperationsChain } from "./chain";
import { confirmSubmitted } from "./confirmer";
import { sendPending } from "./sender";
import { hasOpenWork } from "./store";

export const SEND_JOB = "tokens.operations.send";
export const SWEEP_JOB = "tokens.operations.sweep";

/**
 * Sends what is pending, then settles: a send job only what it sent itself (its cost stays with its
 * own operations, however many jobs were queued); the sweep everything, with the full resume. A
 * multi-step operation whose step confirmed is pending again: its next step goes out in the same
 * run (a few rounds at most; the sweep takes over after).
 */
async function runOutbox(deps: Deps, chain: OperationsChain, scope: "sent" | "all") {
  const total = { sent: 0, failed: 0, resumed: 0, confirmed: 0, advanced: 0, waiting: 0 };
  for (let round = 0; round < STEP_ROUNDS; round++) {
    const run = await sendAndSettle(deps, chain, round === 0 ? scope : "sent");
    total.sent += run.sent;
    total.failed += run.failed;
    total.resumed += run.resumed;
    total.confirmed += run.confirmed;
    total.advanced += run.advanced;
    total.waiting = run.waiting;
    if (run.advanced === 0) break;
  }
  // Settlements recorded their requesters' notifications: the dispatcher need not wait for its schedule.
  if (total.confirmed + total.failed > 0) await kickDispatcher(deps);
  return total;
}

const STEP_ROUNDS = 8;

async function sendAndSettle(deps: Deps, chain: OperationsChain, scope: "sent" | "all") {
  const { sentIds, ...sent } = await sendPending(deps, chain, { resume: scope === "all" ? "all" : "signed" });
  if (scope === "all") {
    const { waiting, ...settled } = await confirmSubmitted(deps, chain);
    return { ...sent, ...settled, failed: sent.failed + settled.failed, waiting: waiting.length };
  }
  // A send job waits a little for its own transactions (a node that mines at once confirms them in
  // this job); whatever needs more blocks is the sweep's.
  let ids = sentIds;
  let confirmed = 0;
  let advanced = 0;
  for (let pass = 0; ids.length > 0 && pass < SEND_JOB_CONFIRM_PASSES; pass++) {
    if (pass > 0) await Bun.sleep(SEND_JOB_CONFIRM_PAUSE_MS);
    const settled = await confirmSubmitted(deps, chain, { ids });
    confirmed += settled.confirmed;
    advanced += settled.advanced;
    ids = settled.waiting;
  }
  return { ...sent, confirmed, advanced, waiting: ids.length };
}

const SEND_JOB_CONFIRM_PASSES = 10;
const SEND_JOB_CONFIRM_PAUSE_MS = 250;

/** One connection to the chain per set of definitions (that is, per worker), made on first use. */
export function operationJobs(config: Pick<Config, "operations">): JobDefinition<typeof SEND_JOB | typeof SWEEP_JOB>[] {
  let connecting: Promise<OperationsChain> | undefined;
  const chainFor = (deps: Deps) => {
    connecting ??= connectOperationsChain(deps.config);
    connecting.catch(() => {
      connecting = undefined;
    });
    return connecting;
  };
  return [
    {
      name: SEND_JOB,
      attempts: 5,
      backoffMs: 1_000,
      run: async (deps) => runOutbox(deps, await chainFor(deps), "sent"),
    },
    {
      name: SWEEP_JOB,
      everySeconds: config.operations.sweepSeconds,
      attempts: 1,
      run: async (deps) => {
        if (!(await hasOpenWork(deps.db, deps.config.chain.id))) return { idle: true };
        return runOutbox(deps, await chainFor(deps), "all");
      },
    },
  ];
}
