import { sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import { pingStorage } from "../../infra/storage";
import type { CachedSystemInfo, DependencyName, DependencyStatus, SystemInfo } from "./contract";

type Probe = (signal: AbortSignal) => Promise<unknown>;

const probes = (deps: Deps): Record<DependencyName, Probe> => ({
  postgres: () => deps.db.execute(sql`select 1`),
  redis: () => deps.redis.ping(),
  s3: (signal) => pingStorage(deps.storage, signal),
  chain: () => deps.chain.getBlockNumber({ cacheTime: 0 }),
});

/** Runs one probe, bounded by `timeoutMs`; a probe never throws, it reports. */
async function probe(run: Probe, timeoutMs: number): Promise<DependencyStatus> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([run(controller.signal), timeout]);
    return { up: true, latencyMs: elapsed(started) };
  } catch (error) {
    return { up: false, latencyMs: elapsed(started), error: describeProbeError(error) };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** A short reason fit for a public health page: no hosts, credentials or stack. */
function describeProbeError(error: unknown): string {
  if (!(error instanceof Error)) return "unreachable";
  if (error.message.startsWith("no answer within")) return error.message;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return `unreachable (${code})`;
  return "unreachable";
}

export async function checkDependencies(
  deps: Deps,
  timeoutMs: number,
): Promise<Record<DependencyName, DependencyStatus>> {
  const entries = await Promise.all(
    Object.entries(probes(deps)).map(async ([name, run]) => [name, await probe(run, timeoutMs)] as const),
  );
  return Object.fromEntries(entries) as Record<DependencyName, DependencyStatus>;
}

const CACHE_KEY = "cache:system:info";

async function computeSystemInfo(deps: Deps): Promise<CachedSystemInfo> {
  const timeoutMs = deps.config.http.readyTimeoutMs;
  const [dependencies, chain] = await Promise.all([
    checkDependencies(deps, timeoutMs),
    Promise.all([deps.chain.getChainId(), deps.chain.getBlockNumber({ cacheTime: 0 })]).then(
      ([id, block]) => ({ id, latestBlock: block.toString() }),
      () => ({ id: null, latestBlock: null }),
    ),
  ]);
  return { version: deps.config.version, chain, dependencies, checkedAt: new Date().toISOString() };
}

/**
 * Served from Redis while fresh (one GET), so polling dashboards cost almost nothing; one
 * computation per process at a time refills it. If Redis is down the answer is computed directly
 * and says so in `dependencies.redis`.
 */
export async function getSystemInfo(deps: Deps): Promise<SystemInfo> {
  const uptimeSeconds = Math.round((Date.now() - deps.startedAt) / 1000);
  const cached = await deps.redis.get(CACHE_KEY).catch(() => null);
  if (cached) return { ...(JSON.parse(cached) as CachedSystemInfo), uptimeSeconds };

  // One refill at a time in this process (deps.local.systemInfo).
  const info = await deps.local.systemInfo.run(() => computeSystemInfo(deps));
  await deps.redis.set(CACHE_KEY, JSON.stringify(info), "PX", deps.config.http.systemInfoCacheMs).catch(() => {});
  return { ...info, uptimeSeconds };
}
