// The data keys' table (domains/kyc/data-keys.ts), in a file of its own so that schema.ts stays
// within the size rule; drizzle-kit reads it too (drizzle.config.ts).
import { sql } from "drizzle-orm";
import { check, index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { at, bytea, kycApplications } from "./schema";

/**
 * Each application's data key, wrapped (AES-256-GCM, bound to the application id) by the master key
 * `master_key_id`. A table of its own, not columns of kyc_applications: a rotation rewrites one
 * small row per application without the guard trigger, version bumps or reviewers' row locks, and
 * a destroyed key stays as a tombstone (wrapped_key null) that a trigger keeps from coming back.
 */
export const kycDataKeys = pgTable(
  "kyc_data_keys",
  {
    applicationId: uuid("application_id")
      .primaryKey()
      .references(() => kycApplications.id),
    wrappedKey: bytea("wrapped_key"),
    masterKeyId: text("master_key_id"),
    createdAt: at("created_at").notNull().defaultNow(),
    /** Set when the key was destroyed (erasure): the application's personal data is unreadable for good. */
    destroyedAt: at("destroyed_at"),
  },
  (table) => [
    check(
      "kyc_data_keys_state_check",
      sql`(${table.wrappedKey} is null) = (${table.masterKeyId} is null) and (${table.wrappedKey} is null) = (${table.destroyedAt} is not null)`,
    ),
    index("kyc_data_keys_master_idx")
      .on(table.masterKeyId, table.applicationId)
      .where(sql`${table.wrappedKey} is not null`),
  ],
);
