import { desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { walletAddress } from "./schema";

/**
 * A named prepared statement, made once per process (deps.local.meWallets): me.get is the hottest
 * signed-in read, and building the SQL and planning it on every call cost more than the rest of the
 * call (bench/README.md). Nothing to release: the pool's connections carry the plans.
 */
export function prepareMeWallets(db: Database) {
  const query = db
    .select()
    .from(walletAddress)
    .where(eq(walletAddress.userId, sql.placeholder("userId")))
    .orderBy(desc(walletAddress.isPrimary), walletAddress.createdAt)
    .prepare("kit_me_wallets");
  return { execute: (userId: string) => query.execute({ userId }), close: async () => {} };
}

export type MeWallets = ReturnType<typeof prepareMeWallets>;
