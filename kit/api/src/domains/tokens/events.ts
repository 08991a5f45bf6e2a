// Live token transfers over Redis pub/sub: `{prefix}token:{address}:transfers`. The indexer
// publishes after each committed batch (never before: a subscriber never hears of a transfer the
// database does not have), and after a reorg rollback. Pub/sub keeps nothing: a subscriber that
// must be exact reads the tables after subscribing and treats messages as "something changed".
import { z } from "zod";
import type { Config } from "../../config";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";

// ioredis prefixes keys, not channels: the prefix is added here (as kyc/events.ts does).
export const transfersChannel = (config: Pick<Config, "redis">, token: string) =>
  `${config.redis.keyPrefix}token:${token.toLowerCase()}:transfers`;

const transferMessage = z.object({
  txHash: z.string(),
  logIndex: z.number().int(),
  blockNumber: z.number().int(),
  from: z.string(),
  to: z.string(),
  /** Raw integer amount, exactly (decimal string). */
  amount: z.string(),
});

export const tokenTransfersEvent = z.discriminatedUnion("type", [
  /** Transfers just committed (in block and log order); a batch may be split over several messages. */
  z.object({
    type: z.literal("transfers"),
    chainId: z.number().int(),
    token: z.string(),
    transfers: z.array(transferMessage),
  }),
  /** A reorg removed this token's transfers above `ancestorBlock`; they are re-read (and re-published). */
  z.object({
    type: z.literal("reorg"),
    chainId: z.number().int(),
    token: z.string(),
    ancestorBlock: z.number().int(),
    removed: z.number().int(),
  }),
]);
export type TokenTransfersEvent = z.infer<typeof tokenTransfersEvent>;

/** Transfers per message: a backfill batch of 10,000 is ten messages, not one of megabytes. */
const MAX_TRANSFERS_PER_MESSAGE = 1_000;

export interface PublishDeps {
  config: Pick<Config, "redis">;
  redis: Redis;
  log: Logger;
}

/** Publishes in one pipeline. Never throws: the batch is committed; a lost message is logged. */
export async function publishTokenEvents(deps: PublishDeps, events: TokenTransfersEvent[]): Promise<void> {
  if (events.length === 0) return;
  const pipeline = deps.redis.pipeline();
  for (const event of events) {
    if (event.type === "transfers") {
      for (let i = 0; i < event.transfers.length; i += MAX_TRANSFERS_PER_MESSAGE) {
        const part = { ...event, transfers: event.transfers.slice(i, i + MAX_TRANSFERS_PER_MESSAGE) };
        pipeline.publish(transfersChannel(deps.config, event.token), JSON.stringify(part));
      }
    } else {
      pipeline.publish(transfersChannel(deps.config, event.token), JSON.stringify(event));
    }
  }
  try {
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error)?.[0];
    if (failed) throw failed;
  } catch (error) {
    deps.log.warn({ err: error }, "could not publish token transfers; live subscribers miss them until they re-read");
  }
}
