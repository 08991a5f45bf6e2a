// Live KYC status over Redis pub/sub (infra/live-streams.ts). `{prefix}kyc:{userId}` carries one
// user's status changes, `{prefix}kyc:queue` every change a reviewer cares about (all but drafts).
// A stream that ends (lost connection, a reader too slow, shutdown) is reconnected by the client,
// and its own stream starts with the current status again.
import type { AsyncIteratorClass } from "@orpc/server";
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { Config } from "../../config";
import type { ProcessLocal } from "../../deps";
import type { Database } from "../../infra/db";
import { type Listener, LiveStreamHub } from "../../infra/live-streams";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { OwnStatusEvent } from "./contract-applicant";
import {
  type KycChannelMessage,
  kycChannelMessage,
  type OnchainStatusEvent,
  type StatusEvent,
} from "./contract-shapes";
import type { KycStatus } from "./contract-values";
import { listRegistrations } from "./onchain-status";
import { kycApplications } from "./schema";

export interface KycEventDeps {
  config: Pick<Config, "redis">;
  redis: Redis;
  log: Logger;
}

interface QueueWatchDeps extends KycEventDeps {
  local: Pick<ProcessLocal, "kycStatusStreams">;
}

export interface KycWatchDeps extends QueueWatchDeps {
  db: Database;
}

/** Open own-status streams one user may hold on one process (tabs, devices); more is a leak or abuse. */
export const MAX_STREAMS_PER_USER = 5;
/** Open queue streams one reviewer may hold on one process (counted apart from their own-status streams). */
export const MAX_QUEUE_STREAMS_PER_USER = 5;
/** Events a stream may fall behind its reader before it is ended (memory per stream stays bounded). */
const MAX_BUFFERED_EVENTS = 32;

/** The process's hub of live KYC status streams (deps.local.kycStatusStreams, made by createDeps). */
export function createStatusStreams(deps: { redis: Redis; log: Logger }): LiveStreamHub<KycChannelMessage> {
  return new LiveStreamHub(deps, {
    name: "kyc-events",
    schema: kycChannelMessage,
    maxBuffered: MAX_BUFFERED_EVENTS,
    unavailable: "Live KYC status is unavailable right now; retry in a few seconds.",
  });
}
const tooMany = `You already have ${MAX_STREAMS_PER_USER} live status streams open; close one (another tab or device) first.`;
const tooManyQueue = `You already have ${MAX_QUEUE_STREAMS_PER_USER} live queue streams open; close one (another console tab or device) first.`;
const isStatusEvent = (message: KycChannelMessage): message is StatusEvent => "status" in message;
/** Reviewers hear status changes only (on-chain snapshots go to their owner's channel alone). */
const statusOnly = (message: KycChannelMessage): StatusEvent[] => (isStatusEvent(message) ? [message] : []);
/** The applicant never learns who reviews their application (the reviewers' stream says it). */
function forApplicant(message: KycChannelMessage): (OwnStatusEvent | OnchainStatusEvent)[] {
  if (!isStatusEvent(message)) return [message];
  const { reviewerId: _, ...event } = message;
  return [event];
}

// ioredis prefixes keys, not channels: the prefix is added here, so that processes (and test
// files) configured with different prefixes never hear each other. User ids are generated, never
// the word `queue`.
export const userChannel = (config: Pick<Config, "redis">, userId: string) => `${config.redis.keyPrefix}kyc:${userId}`;
export const queueChannel = (config: Pick<Config, "redis">) => `${config.redis.keyPrefix}kyc:queue`;

/** Publishes to `kyc:{userId}` and `kyc:queue`. Never throws: a lost event is logged, the change stands. */
export async function publishStatusEvent(deps: KycEventDeps, userId: string, event: StatusEvent): Promise<void> {
  const message = JSON.stringify(event);
  const channels = [userChannel(deps.config, userId)];
  // A draft is the applicant's private work: reviewers hear of it once it is submitted.
  if (event.status !== "draft") channels.push(queueChannel(deps.config));
  try {
    await Promise.all(channels.map((channel) => deps.redis.publish(channel, message)));
  } catch (error) {
    deps.log.warn(
      { err: error, applicationId: event.applicationId, status: event.status },
      "could not publish a KYC status event; open streams miss this change until they reconnect",
    );
  }
}

/**
 * The user's own status changes: first the current status (of their latest application; nothing
 * when they have none), then each change, until `signal` aborts or the stream is returned.
 * TOO_MANY_REQUESTS past MAX_STREAMS_PER_USER on this process; SERVICE_UNAVAILABLE without Redis.
 */
export async function watchOwnStatus(
  deps: KycWatchDeps,
  userId: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<OwnStatusEvent | OnchainStatusEvent, undefined>> {
  // Subscribed before the read: a change committed in between is in the buffer, not lost.
  const listener = await deps.local.kycStatusStreams.open(userChannel(deps.config, userId), {
    cap: { key: userId, max: MAX_STREAMS_PER_USER, message: tooMany },
    expand: forApplicant,
    log: deps.log,
  });
  try {
    const current = await readCurrentStatus(deps.db, userId);
    if (current) startFrom(listener, current, await readOnchainStatus(deps.db, userId));
  } catch (error) {
    listener.end("failed");
    throw error;
  }
  return listener.stream(signal);
}

/**
 * Every queue change (submissions, claims, decisions), until `signal` aborts or the stream is
 * returned. TOO_MANY_REQUESTS past MAX_QUEUE_STREAMS_PER_USER on this process.
 */
export async function watchQueue(
  deps: QueueWatchDeps,
  reviewerId: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<StatusEvent, undefined>> {
  const listener = await deps.local.kycStatusStreams.open(queueChannel(deps.config), {
    // A key of its own: a reviewer's console tabs never use up their own-status streams, nor the reverse.
    cap: { key: `queue:${reviewerId}`, max: MAX_QUEUE_STREAMS_PER_USER, message: tooManyQueue },
    expand: statusOnly,
    log: deps.log,
  });
  return listener.stream(signal);
}

/**
 * Puts the current status first, and from then on drops any event of its application at or below
 * the version last queued (the change the first read already showed, or an older one published
 * late), so that the reader never steps back.
 */
function startFrom<E>(
  listener: Listener<KycChannelMessage, E>,
  current: StatusEvent,
  onchain: OnchainStatusEvent | undefined,
): void {
  const sameApplication = (event: KycChannelMessage): event is StatusEvent =>
    isStatusEvent(event) && event.applicationId === current.applicationId;
  let floor = current.version;
  listener.rewrite((buffered) => {
    const newer = buffered.filter((event) => !sameApplication(event) || event.version > current.version);
    floor = Math.max(floor, ...newer.filter(sameApplication).map((event) => event.version));
    // The wallets' on-chain state right after the status: a snapshot buffered meanwhile is newer.
    return onchain ? [current, onchain, ...newer] : [current, ...newer];
  });
  listener.filter((event) => {
    if (!sameApplication(event)) return true;
    if (event.version <= floor) return false;
    floor = event.version;
    return true;
  });
}

async function readCurrentStatus(db: Database, userId: string): Promise<StatusEvent | undefined> {
  const [row] = await db
    .select({
      applicationId: kycApplications.id,
      status: kycApplications.status,
      reviewerId: kycApplications.reviewerId,
      updatedAt: kycApplications.updatedAt,
      version: kycApplications.version,
      // The history row that made the current status says what it was before. Spelled out:
      // drizzle drops table names from columns in a one-table select, which the subquery needs.
      previousStatus: sql<KycStatus | null>`(
        select h.from_status from kyc_status_history h
        where h.application_id = kyc_applications.id and h.to_status = kyc_applications.status
        order by h.id desc limit 1)`,
    })
    .from(kycApplications)
    .where(and(eq(kycApplications.userId, userId), isNull(kycApplications.erasedAt)))
    .orderBy(desc(kycApplications.createdAt))
    .limit(1);
  if (!row) return undefined;
  return {
    applicationId: row.applicationId,
    status: row.status,
    previousStatus: row.previousStatus ?? null,
    reviewerId: row.reviewerId,
    version: row.version,
    at: row.updatedAt.toISOString(),
  };
}

/** The user's wallets on chain as the applicant sees them; undefined while Kit acted on none. */
async function readOnchainStatus(db: Database, userId: string): Promise<OnchainStatusEvent | undefined> {
  const onchain = await listRegistrations(db, userId, "applicant");
  return onchain.length > 0 ? { onchain, at: new Date().toISOString() } : undefined;
}

/**
 * Tells the user's own streams where their wallets stand on chain (every wallet: a reader replaces
 * what it showed). Called when an eligibility job ends, whatever its outcome. Never throws: a lost
 * snapshot is logged, and the next one (or a reconnect) shows the state.
 */
export async function publishOnchainStatus(deps: KycEventDeps & { db: Database }, userId: string): Promise<void> {
  try {
    const event = await readOnchainStatus(deps.db, userId);
    if (event) await deps.redis.publish(userChannel(deps.config, userId), JSON.stringify(event));
  } catch (error) {
    deps.log.warn({ err: error }, "could not publish the on-chain status; open streams show it after a reconnect");
  }
}
