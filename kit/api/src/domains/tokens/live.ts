// tokens.events: a token's live transfers, from what the indexer publishes on
// `{prefix}token:{address}:transfers` (events.ts) after each committed batch, over the shared
// pub/sub streams (infra/live-streams.ts). A stream that ends is followed by the client re-reading
// tokens.transfers and reconnecting.
import type { AsyncIteratorClass } from "@orpc/server";
import { getAddress } from "viem";
import type { Config } from "../../config";
import type { ProcessLocal } from "../../deps";
import type { Database } from "../../infra/db";
import { LiveStreamHub } from "../../infra/live-streams";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { TokenStreamEvent } from "./contract";
import { type TokenTransfersEvent, tokenTransfersEvent, transfersChannel } from "./events";
import { amountOf, requireToken } from "./service";

export interface TokenStreamDeps {
  config: Pick<Config, "redis" | "chain">;
  db: Database;
  redis: Redis;
  log: Logger;
  local: Pick<ProcessLocal, "tokenTransferStreams">;
}

/** Open token streams one user may hold on one process (tabs, tokens); more is a leak or abuse. */
export const MAX_TOKEN_STREAMS_PER_USER = 10;
/** Messages (each up to 1,000 transfers) a stream may fall behind its reader before it is ended. */
const MAX_BUFFERED_MESSAGES = 32;

/** The process's hub of live token streams (deps.local.tokenTransferStreams, made by createDeps). */
export function createTokenTransferStreams(deps: { redis: Redis; log: Logger }): LiveStreamHub<TokenTransfersEvent> {
  return new LiveStreamHub(deps, {
    name: "token-streams",
    // The main client (infra/redis.ts) already reports outages of the same server.
    connectionErrors: "debug",
    schema: tokenTransfersEvent,
    maxBuffered: MAX_BUFFERED_MESSAGES,
    unavailable: "Live token transfers are unavailable right now; retry in a few seconds.",
  });
}
const tooMany = `You already have ${MAX_TOKEN_STREAMS_PER_USER} live token streams open; close one first.`;

/** The token's transfers as they are indexed, until `signal` aborts or the stream is returned. */
export async function watchTokenTransfers(
  deps: TokenStreamDeps,
  userId: string,
  address: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<TokenStreamEvent, undefined>> {
  const token = await requireToken(deps, address);
  const listener = await deps.local.tokenTransferStreams.open(transfersChannel(deps.config, token.address), {
    cap: { key: userId, max: MAX_TOKEN_STREAMS_PER_USER, message: tooMany },
    expand: (message) => toStreamEvents(message, token.decimals),
  });
  return listener.stream(signal);
}

/** A published message as the events a client sees. */
function toStreamEvents(message: TokenTransfersEvent, decimals: number): TokenStreamEvent[] {
  const token = getAddress(message.token.toLowerCase());
  if (message.type === "reorg") {
    return [{ type: "reorg", token, ancestorBlock: String(message.ancestorBlock), removed: message.removed }];
  }
  return message.transfers.map((t) => ({
    type: "transfer" as const,
    token,
    from: getAddress(t.from.toLowerCase()),
    to: getAddress(t.to.toLowerCase()),
    value: amountOf(t.amount, decimals),
    blockNumber: String(t.blockNumber),
    transactionHash: t.txHash,
    logIndex: t.logIndex,
  }));
}
