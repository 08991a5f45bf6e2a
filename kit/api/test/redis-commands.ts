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
