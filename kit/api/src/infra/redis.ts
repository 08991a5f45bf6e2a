import diagnosticsChannel from "node:diagnostics_channel";
import {
  type ClusterOptions as AnyClusterOptions,
  type RedisOptions as AnyRedisOptions,
  Cluster,
  Command,
  Redis as SingleRedis,
} from "ioredis";
import type { Config, RedisNode } from "../config";
import type { Logger } from "./log";

// Kit's clients keep ioredis's default reply shapes.
type RedisOptions = AnyRedisOptions & { replyMapping?: "legacy" };
type ClusterOptions = AnyClusterOptions & { redisOptions?: { replyMapping?: "legacy" } };

/** A client of one server (or of the primary Sentinel names), or of a Redis Cluster. */
export type Redis = SingleRedis | Cluster;

// ioredis 6 traces a command unless its tracing channel says `hasSubscribers === false`. Bun's
// TracingChannel has no such property (Node 22's has), so every command paid for argument
// sanitising and a traced promise with nobody listening: ~10 µs of CPU per signed-in call
// (bench/README.md). The property answers what Node's does: whether any of its channels has a
// subscriber, so a real tracer still sees every command.
const tracingChannelPrototype = Object.getPrototypeOf(diagnosticsChannel.tracingChannel("kit:probe")) as object;
if (!("hasSubscribers" in tracingChannelPrototype)) {
  Object.defineProperty(tracingChannelPrototype, "hasSubscribers", {
    configurable: true,
    get(this: Record<string, { hasSubscribers?: boolean } | undefined>) {
      return ["start", "end", "asyncStart", "asyncEnd", "error"].some((name) => this[name]?.hasSubscribers === true);
    },
  });
}

/** What a command fails with while the breaker is open (see `Breaker`): the caller's fallback applies. */
export class RedisSkippedError extends Error {
  constructor() {
    super("Redis skipped: a command timed out and Redis has not answered since (circuit breaker open)");
    this.name = "RedisSkippedError";
  }
}

/** ioredis's error for a command that outlived `commandTimeout`. */
const COMMAND_TIMED_OUT = "Command timed out";

type SendCommandStream = Parameters<SingleRedis["sendCommand"]>[1];
type ClusterNode = Parameters<Cluster["sendCommand"]>[2];

interface BreakerOptions {
  ms: number;
  onChange: (open: boolean) => void;
}

/**
 * A circuit breaker in front of a client's commands. A Redis that is connected but silent (stopped,
 * overloaded) makes each command wait out the command timeout, and a signed-in call sends up to
 * three in a row. So the first timeout opens the breaker: while the connection stays up, every
 * command fails at once with `RedisSkippedError` (callers take the fallback they take when Redis is
 * down), and `probe` asks Redis every `ms`; its answer, or a new connection's handshake, closes the
 * breaker. A call then pays at most one timeout (the one in flight when Redis stalled), and no
 * caller pays for a probe. Closed, it costs each command a boolean test and one promise reaction.
 * One class for both clients below: a subclass of each only routes its `sendCommand` through it.
 */
class Breaker {
  private skipping = false;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly client: SingleRedis | Cluster,
    private readonly options: BreakerOptions,
    private readonly probe: () => Promise<unknown>,
  ) {
    // A new connection answered its handshake: Redis answers again.
    client.on("ready", () => this.close());
    client.on("end", () => clearTimeout(this.probeTimer));
  }

  /** True when `command` was refused (its promise is rejected already). */
  refuses(command: Command): boolean {
    // Only a connected client skips: while (re)connecting, ioredis already fails commands at once,
    // and the handshake's own commands must get through.
    if (!this.skipping || this.client.status !== "ready") return false;
    command.reject(new RedisSkippedError());
    return true;
  }

  watch(command: Command): void {
    command.promise.catch(this.openOnTimeout);
  }

  private readonly openOnTimeout = (error: unknown): void => {
    if (this.skipping || !(error instanceof Error) || error.message !== COMMAND_TIMED_OUT) return;
    this.skipping = true;
    this.options.onChange(true);
    this.scheduleProbe();
  };

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      if (!this.skipping || this.client.status === "end") return;
      this.probe().then(
        () => this.close(),
        () => this.scheduleProbe(),
      );
    }, this.options.ms);
    this.probeTimer.unref?.();
  }

  private close(): void {
    clearTimeout(this.probeTimer);
    if (!this.skipping) return;
    this.skipping = false;
    this.options.onChange(false);
  }
}

/** One server, or the primary Sentinel names, with a breaker. */
class BreakingRedis extends SingleRedis {
  private readonly breaker: Breaker;

  constructor(target: [url: string, options: RedisOptions] | [options: RedisOptions], breaker: BreakerOptions) {
    super(...(target as [string, RedisOptions]));
    this.breaker = new Breaker(this, breaker, () => {
      // Past the breaker: the probe is the one command let through.
      const ping = new Command("ping");
      super.sendCommand(ping);
      return ping.promise;
    });
  }

  override sendCommand(command: Command, stream?: SendCommandStream): unknown {
    // `breaker` is unset while the base constructor runs.
    if (this.breaker?.refuses(command)) return command.promise;
    const reply = super.sendCommand(command, stream);
    this.breaker?.watch(command);
    return reply;
  }
}

/**
 * A Redis Cluster with a breaker. A command times out on one node; the probe asks every master
 * (straight to its connection, past the breaker), so the breaker stays open while any master is
 * silent: the cluster is skipped as a whole until that node answers or its replica took over.
 */
class BreakingCluster extends Cluster {
  private readonly breaker: Breaker;

  constructor(nodes: RedisNode[], options: ClusterOptions, breaker: BreakerOptions) {
    super(nodes, options);
    this.breaker = new Breaker(this, breaker, () => Promise.all(this.nodes("master").map((node) => node.ping())));
  }

  override sendCommand(command: Command, stream?: SendCommandStream, node?: ClusterNode): unknown {
    if (this.breaker?.refuses(command)) return command.promise;
    const reply = super.sendCommand(command, stream, node);
    this.breaker?.watch(command);
    return reply;
  }
}

export function isCluster(redis: Redis): redis is Cluster {
  return redis.isCluster;
}

/** How the client finds Redis: a URL, a Cluster's seed nodes, or Sentinels naming the primary. */
function target(config: Pick<Config, "redis">, options: RedisOptions): [string, RedisOptions] | [RedisOptions] {
  const { sentinel } = config.redis;
  if (!sentinel) return [config.redis.url, options];
  return [
    {
      ...options,
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      password: sentinel.password,
      sentinelPassword: sentinel.password,
      // Listens to the sentinels' +switch-master: a failover is followed at once, not at the next error.
      failoverDetector: true,
      // A primary demoted to replica refuses writes: reconnect (to whichever the sentinels now name) and resend.
      reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
    },
  ];
}

/** A Cluster's options from a single client's: connection options go to every node's connection. */
function clusterOptions(
  config: Pick<Config, "redis">,
  { keyPrefix, enableOfflineQueue, retryStrategy, ...node }: RedisOptions,
): ClusterOptions {
  return {
    keyPrefix,
    enableOfflineQueue,
    clusterRetryStrategy: (attempt) => retryStrategy?.(attempt) ?? null,
    // A command sent to a master that just died is retried on the new slot map this often, at most
    // `maxRedirections` times (ioredis's defaults, stated: a failover costs a call ~1.6 s at most).
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    maxRedirections: 16,
    slotsRefreshTimeout: 2_000,
    redisOptions: { ...node, password: config.redis.cluster?.password },
  };
}

/**
 * The one Redis client factory. Every key gets the configured prefix, so tests and tenants
 * sharing a server never collide. While Redis is away, commands fail at once (no offline queue)
 * instead of waiting out reconnect attempts: callers then take their documented fallback (fail
 * open or closed) in microseconds, not seconds. A Redis that is connected but does not answer
 * (stopped, overloaded, a half-open link) fails a command after `commandTimeoutMs`, to the same
 * fallbacks, and then every command at once until it answers again (the breaker, above). Redis is
 * one server, a Cluster or a Sentinel-watched primary (config.redis); keys that one command or
 * script touches together carry one hash tag (`{…}`), so they share a Cluster slot. Call
 * `redisReady` before serving.
 */
export function createRedis(config: Pick<Config, "redis">, log: Logger, name = "main"): Redis {
  const options: RedisOptions = {
    keyPrefix: config.redis.keyPrefix,
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    commandTimeout: config.redis.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  };
  const breaker = { ms: config.redis.breakerMs, onChange: reportBreaker(log, name, config.redis.commandTimeoutMs) };
  const { cluster } = config.redis;
  const redis = cluster
    ? new BreakingCluster(cluster.nodes, clusterOptions(config, options), breaker)
    : new BreakingRedis(target(config, options), breaker);
  reportOutages(redis, log, name);
  return redis;
}

/**
 * BullMQ's connections, apart from every other client as BullMQ requires: it refuses an ioredis key
 * prefix (it prefixes its own keys, see jobs/queue.ts) and its blocking reads need
 * `maxRetriesPerRequest: null`. A `worker` connection queues commands while Redis is away and runs
 * them when it returns; a `producer` one fails at once, like every other caller, so an enqueue
 * during an outage is an error rather than a hang — and, having no blocking reads, it gets the same
 * command timeout and breaker as the shared client, for a Redis that is connected but silent.
 */
export function createQueueRedis(config: Pick<Config, "redis">, log: Logger, use: "producer" | "worker"): Redis {
  const name = `jobs-${use}`;
  const options: RedisOptions = {
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: null,
    enableOfflineQueue: use === "worker",
    connectTimeout: 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const breaker = { ms: config.redis.breakerMs, onChange: reportBreaker(log, name, config.redis.commandTimeoutMs) };
  const producer = { ...options, commandTimeout: config.redis.commandTimeoutMs };
  const { cluster } = config.redis;
  let redis: Redis;
  if (cluster) {
    redis =
      use === "producer"
        ? new BreakingCluster(cluster.nodes, clusterOptions(config, producer), breaker)
        : new Cluster(cluster.nodes, clusterOptions(config, options));
  } else {
    redis =
      use === "producer"
        ? new BreakingRedis(target(config, producer), breaker)
        : new SingleRedis(...(target(config, options) as [string, RedisOptions]));
  }
  reportOutages(redis, log, name);
  return redis;
}

/** One connection to one server. */
export type SubscriberConnection = SingleRedis;

/**
 * A connection for SUBSCRIBE (infra/live-streams.ts), on the server the client uses. On a Cluster,
 * a plain connection to one node, which sees what is published on any node (Redis Cluster relays
 * every PUBLISH to every node); it does not reconnect, so that a lost node ends it ("end") and the
 * next subscriber is opened on a node that is up. (ioredis's own Cluster subscriber would move to
 * another node silently, hiding the messages lost meanwhile.) Null while no node is known.
 */
export function createSubscriber(redis: Redis, name: string): SubscriberConnection | null {
  const connectionName = `kit-${name}`;
  if (!isCluster(redis)) return redis.duplicate({ connectionName, autoResubscribe: false });
  const live = redis.nodes("all").filter((node) => node.status === "ready");
  const known = live.length > 0 ? live : redis.nodes("all");
  const node = known[Math.floor(Math.random() * known.length)];
  if (!node) return null;
  const { host, port } = node.options;
  return new SingleRedis({
    host,
    port,
    password: redis.options.redisOptions?.password,
    connectionName,
    autoResubscribe: false,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
}

function reportBreaker(log: Logger, name: string, timeoutMs: number): (open: boolean) => void {
  return (open) => {
    if (open) log.warn({ client: name, timeoutMs }, "redis did not answer in time; skipping it until it answers again");
    else log.info({ client: name }, "redis answers again");
  };
}

function reportOutages(redis: Redis, log: Logger, name: string): void {
  let reported = false;
  redis.on("error", (err) => {
    // ioredis emits on every failed reconnect; one line per outage is enough.
    if (!reported) log.warn({ err, client: name }, "redis connection error");
    reported = true;
  });
  redis.on("ready", () => {
    if (reported) log.info({ client: name }, "redis connection restored");
    reported = false;
  });
}

/** Where Redis is, for a banner or a message: `127.0.0.1:6379`, `cluster 10.0.0.1:6379,…`, `sentinel mymaster via …`. */
export function describeRedis(config: Pick<Config, "redis">): string {
  const list = (nodes: RedisNode[]) => nodes.map(({ host, port }) => `${host}:${port}`).join(",");
  const { cluster, sentinel } = config.redis;
  if (cluster) return `cluster ${list(cluster.nodes)}`;
  if (sentinel) return `sentinel ${sentinel.name} via ${list(sentinel.sentinels)}`;
  return new URL(config.redis.url).host;
}

/** Resolves true once connected, or false after `timeoutMs` (the caller decides whether that is fatal). */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}

/** QUIT when connected (pending replies arrive first); otherwise drop the socket, so a stop never waits on an outage. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/**
 * Deletes `keys` (unprefixed names, as every other command takes them). On a Cluster one DEL per
 * key, sent together: the keys may live in different slots, which one DEL may not span.
 */
export async function deleteKeys(redis: Redis, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(redis)) return await redis.del(...keys);
  const counts = await Promise.all(keys.map((key) => redis.del(key)));
  return counts.reduce((sum, n) => sum + n, 0);
}

/**
 * Deletes every key under `prefix` (a test file's or a bench run's). SCAN patterns are not
 * prefixed by ioredis and it returns full names, while DEL re-adds the client's prefix. On a
 * Cluster each master is scanned (a SCAN sees one node's keys).
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  const own = redis.options.keyPrefix ?? "";
  const scanned = isCluster(redis) ? redis.nodes("master") : [redis];
  for (const node of scanned) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      await deleteKeys(
        redis,
        keys.map((k) => (k.startsWith(own) ? k.slice(own.length) : k)),
      );
    } while (cursor !== "0");
  }
}
