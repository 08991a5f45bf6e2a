// The last refresh's outcome, kept in Redis for every process to read (`fx:refresh:outcome`): what
// the Rates page shows when the providers cannot be reached, instead of an empty table.
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { RefreshOutcome } from "./contract";

const OUTCOME_KEY = "fx:refresh:outcome";

/** Never throws: losing the record costs the page its explanation, not the refresh its result. */
export async function recordRefreshOutcome(
  deps: { redis: Redis; log: Logger },
  outcome: RefreshOutcome,
): Promise<void> {
  try {
    await deps.redis.set(OUTCOME_KEY, JSON.stringify(outcome));
  } catch (err) {
    deps.log.warn({ err }, "fx refresh: could not record the outcome");
  }
}

export async function readRefreshOutcome(deps: { redis: Redis }): Promise<RefreshOutcome | null> {
  const stored = await deps.redis.get(OUTCOME_KEY);
  return stored ? (JSON.parse(stored) as RefreshOutcome) : null;
}
