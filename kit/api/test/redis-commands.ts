import type { Redis } from "../src/infra/redis";

/** The names of the Redis commands `redis` sends while `run` runs (each one alone is a round trip). */
export async function redisCommandsDuring(redis: Redis, run: () => Promise<unknown>): Promise<string[]> {
  const client = redis as unknown as { sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown };
  const original = client.sendCommand;
  const sent: string[] = [];
  client.sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    sent.push(command.name);
    return original.call(this, command, ...rest);
  };
  try {
    await run();
  } finally {
    client.sendCommand = original;
  }
  return sent;
}

/** How each Redis command `redis` was asked for while `run` ran ended: "ok" or its error's message. */
export async function redisOutcomesDuring(
  redis: Redis,
  run: () => Promise<unknown>,
): Promise<{ name: string; outcome: string }[]> {
  const client = redis as unknown as {
    sendCommand: (command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]) => unknown;
  };
  const original = client.sendCommand;
  const outcomes: { name: string; outcome: string }[] = [];
  const settled: Promise<unknown>[] = [];
  client.sendCommand = function (this: unknown, command, ...rest) {
    const entry = { name: command.name, outcome: "pending" };
    outcomes.push(entry);
    const reply = original.call(this, command, ...rest);
    settled.push(
      command.promise.then(
        () => {
          entry.outcome = "ok";
        },
        (error: unknown) => {
          entry.outcome = error instanceof Error ? error.message : String(error);
        },
      ),
    );
    return reply;
  };
  try {
    await run();
  } finally {
    client.sendCommand = original;
  }
  await Promise.all(settled);
  return outcomes;
}
