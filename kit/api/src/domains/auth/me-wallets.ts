// The caller's wallets for me.get, the hottest signed-in read: a per-process copy per user in front
// of one prepared statement. Links and unlinks announce themselves (`announceWalletChange`, after
// their commit) on a channel every process listens to; a process drops its copy of that user's
// wallets at once (its own change) or when the announcement arrives (the others'), and uses no copy
// at all while it is not subscribed (infra/invalidation-channel.ts). A copy also lives at most
// COPY_MAX_AGE_MS.
import { desc, eq, sql } from "drizzle-orm";
import { BoundedMap } from "../../infra/bounded-map";
import type { Database } from "../../infra/db";
import { InvalidationChannel } from "../../infra/invalidation-channel";
import type { Logger } from "../../infra/log";
import type { Redis, SubscriberConnection } from "../../infra/redis";
import { walletAddress } from "./schema";

const CHANGES_CHANNEL = "auth:wallets-changed";
const COPY_MAX_AGE_MS = 60_000;
/** Bound on the users whose wallets one process keeps (the oldest go first). */
const COPY_LIMIT = 20_000;

type WalletRow = typeof walletAddress.$inferSelect;

export class MeWallets {
  private readonly copies = new BoundedMap<string, { rows: WalletRow[]; until: number }>(COPY_LIMIT);
  private readonly changes: InvalidationChannel;
  /** Counts drops: a read that a drop overtook does not keep what it read (it may predate the change). */
  private drops = 0;
  private readonly query;

  /**
   * `named` (DATABASE_PREPARED_STATEMENTS): a named prepared statement, planned once per connection;
   * without, it is sent unnamed, for a transaction-mode pooler that cannot keep a statement on the
   * connection the next call gets. Either way the SQL is built once per process: building it on
   * every call cost more than the rest of the call (bench/README.md).
   */
  constructor(db: Database, redis: Redis, log: Logger, named: boolean) {
    this.query = db
      .select()
      .from(walletAddress)
      .where(eq(walletAddress.userId, sql.placeholder("userId")))
      .orderBy(desc(walletAddress.isPrimary), walletAddress.createdAt)
      // node-postgres sends an empty name as the unnamed statement (parsed again on every call).
      .prepare(named ? "kit_me_wallets" : "");
    this.changes = new InvalidationChannel(redis, log, {
      name: "wallet-copies",
      channel: CHANGES_CHANNEL,
      onAnnouncement: (message) => {
        const userId = (message as { userId?: unknown } | null)?.userId;
        if (typeof userId === "string") this.drop(userId);
        else this.dropAll();
      },
      onReset: () => this.dropAll(),
    });
  }

  /** The user's wallets, primary first, then by link time. */
  async read(userId: string): Promise<WalletRow[]> {
    const listening = this.changes.listening();
    const copy = listening ? this.copies.get(userId) : undefined;
    if (copy && copy.until > Date.now()) return copy.rows;
    const drops = this.drops;
    const rows = await this.query.execute({ userId });
    if (listening && drops === this.drops) {
      this.copies.set(userId, { rows, until: Date.now() + COPY_MAX_AGE_MS });
    }
    return rows;
  }

  /** After a committed link or unlink: this process drops its copy now, the others on the announcement. */
  async announceChange(userId: string): Promise<void> {
    this.drop(userId);
    await this.changes.announce({ userId });
  }

  /** Whether copies are in use (the subscription is up), and how many users' wallets are copied. */
  status(): { subscribed: boolean; copies: number; subscriber?: SubscriberConnection } {
    return { subscribed: this.changes.listening(), copies: this.copies.size, subscriber: this.changes.subscriber() };
  }

  async close(): Promise<void> {
    this.dropAll();
    await this.changes.close();
  }

  private drop(userId: string): void {
    this.drops += 1;
    this.copies.delete(userId);
  }

  private dropAll(): void {
    this.drops += 1;
    this.copies.clear();
  }
}
