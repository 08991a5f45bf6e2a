import { desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { walletAddress } from "./schema";

/**
 * The query built once per process (deps.local.meWallets): me.get is the hottest signed-in read,
 * and building the SQL and planning it on every call cost more than the rest of the call
 * (bench/README.md). With `named` (DATABASE_PREPARED_STATEMENTS) it is a named prepared statement,
 * planned once per connection; without, it is sent unnamed, as every other query is, for a
 * transaction-mode pooler that cannot keep a statement on the connection the next call gets.
 * Nothing to release: the pool's connections carry the plans.
 */
export function prepareMeWallets(db: Database, named: boolean) {
  const query = db
    .select()
    .from(walletAddress)
    .where(eq(walletAddress.userId, sql.placeholder("userId")))
    .orderBy(desc(walletAddress.isPrimary), walletAddress.createdAt)
    // node-postgres sends an empty name as the unnamed statement (parsed again on every call).
    .prepare(named ? "kit_me_wallets" : "");
  return { execute: (userId: string) => query.execute({ userId }), close: async () => {} };
}

export type MeWallets = ReturnType<typeof prepareMeWallets>;
