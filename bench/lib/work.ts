// What one request asks of Redis and Postgres, counted exactly: the bench's clients are
// instrumented for a fixed number of sequential in-process requests (no load, no sampling), and
// the instrumentation is removed before the load, so it never weighs on the measured runs.
import type { Deps } from "../../kit/api/src/deps";

/** Figures per call, over `calls` sequential calls (a fraction means the calls did not all do the same). */
export interface WorkPerCall {
  calls: number;
  /**
   * Writes to the Redis connection(s): one command alone, or one whole pipeline / MULTI block, is
   * one write. Each is a request-reply exchange with Redis; commands sent concurrently without a
   * pipeline count one each (they wait in parallel, but Redis reads and answers each apart).
   */
  redisRoundTrips: number;
  /** Commands sent (a pipeline of two is two; a Lua script is one EVALSHA, whatever it runs inside). */
  redisCommands: number;
  /** The same commands by name (lower case), per call. */
  redisCommandsByName: Record<string, number>;
  /** Queries sent to Postgres through any pool client (one query is one round trip on a warm pool). */
  postgresQueries: number;
}

interface Counts {
  writes: number;
  commands: number;
  byName: Record<string, number>;
  queries: number;
}

type Fn = (...args: unknown[]) => unknown;
interface Writable {
  write: Fn;
}
interface RedisLike {
  stream?: Writable;
  sendCommand: Fn;
}

/**
 * Instruments every ioredis client of the same class as `deps.redis` (better-auth's storage, the
 * limiter and anything else sharing it, plus any other client the Kit creates) and every Postgres
 * client of `deps.pool`, then runs `call` `calls` times, one after the other, and returns the
 * counts per call. Everything is put back as it was before this returns.
 */
export async function countWork(deps: Deps, calls: number, call: () => Promise<void>): Promise<WorkPerCall> {
  const counts: Counts = { writes: 0, commands: 0, byName: {}, queries: 0 };
  const restore: (() => void)[] = [];
  const patch = <T extends object>(target: T, key: keyof T & string, wrap: (original: Fn) => Fn) => {
    const own = Object.hasOwn(target, key);
    const original = target[key] as unknown as Fn;
    (target as Record<string, unknown>)[key] = wrap(original);
    restore.push(() => {
      if (own) (target as Record<string, unknown>)[key] = original;
      else delete (target as Record<string, unknown>)[key];
    });
  };

  // Redis: every command goes through the client's sendCommand (a pipeline's too, at exec time,
  // with a stand-in stream that gathers them); the bytes then leave in one write per command or
  // per pipeline. Streams are wrapped as clients use them, so a reconnected client is still counted.
  const wrappedStreams = new WeakSet<object>();
  const redisClass = Object.getPrototypeOf(deps.redis) as RedisLike;
  patch(
    redisClass,
    "sendCommand",
    (original) =>
      function (this: RedisLike, ...args: unknown[]) {
        const command = args[0] as { name?: string };
        const name = String(command?.name ?? "?").toLowerCase();
        counts.commands++;
        counts.byName[name] = (counts.byName[name] ?? 0) + 1;
        const stream = this.stream;
        if (stream && !wrappedStreams.has(stream)) {
          wrappedStreams.add(stream);
          patch(
            stream,
            "write",
            (write) =>
              function (this: Writable, ...writeArgs: unknown[]) {
                counts.writes++;
                return write.apply(this, writeArgs);
              },
          );
        }
        return original.apply(this, args);
      },
  );

  // Postgres: pool.query and drizzle both end in a pool client's query(); count there, once.
  const clientClass = (deps.pool as unknown as { Client: { prototype: { query: Fn } } }).Client.prototype;
  patch(
    clientClass,
    "query",
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        counts.queries++;
        return original.apply(this, args);
      },
  );

  try {
    for (let i = 0; i < calls; i++) await call();
  } finally {
    for (const undo of restore.reverse()) undo();
  }
  const per = (n: number) => Math.round((n / calls) * 100) / 100;
  return {
    calls,
    redisRoundTrips: per(counts.writes),
    redisCommands: per(counts.commands),
    redisCommandsByName: Object.fromEntries(
      Object.entries(counts.byName)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, n]) => [name, per(n)]),
    ),
    postgresQueries: per(counts.queries),
  };
}
