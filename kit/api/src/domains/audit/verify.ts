// Walks the audit chain in id order and names the first row that does not hold: its hash is not
// the SHA-256 of its predecessor's hash and its content (the row was changed), or it does not link
// to the row before it (a row was removed, or the chain was rebuilt from there). The canonical
// content is built by this query, not by the database's own function, so replacing that function
// cannot make an edited row verify. The head hash it reports can be kept elsewhere: a chain
// rewritten from the start would then no longer end with it.
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Database } from "../../infra/db";

const PAGE = 5_000;
const GENESIS = "0".repeat(64);

export interface ChainReport {
  rows: number;
  /** The last row's hash (GENESIS for an empty trail). */
  head: string;
  broken: { id: string; problem: string } | null;
}

interface ChainRow extends Record<string, unknown> {
  id: string;
  prev_hash: string;
  hash: string;
  canonical: string;
}

export async function verifyAuditChain(db: Database): Promise<ChainReport> {
  let previous = GENESIS;
  let after = "0";
  let rows = 0;
  for (;;) {
    const page = await db.execute<ChainRow>(sql`
      select id::text as id, prev_hash, hash, jsonb_build_array(
        id::text, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor_id, actor_kind,
        action, subject_type, subject_id, before, after, request_id, ip_address
      )::text as canonical
      from audit_events where audit_events.id > ${after}::bigint order by audit_events.id limit ${PAGE}`);
    for (const row of page.rows) {
      if (row.prev_hash !== previous) {
        return {
          rows,
          head: previous,
          broken: {
            id: row.id,
            problem:
              rows === 0 && previous === GENESIS
                ? "the first row does not start the chain: rows before it were removed"
                : "it does not link to the row before it: a row before it was removed, or the chain was rebuilt from here",
          },
        };
      }
      const expected = createHash("sha256")
        .update(row.prev_hash + row.canonical, "utf8")
        .digest("hex");
      if (row.hash !== expected) {
        return {
          rows,
          head: previous,
          broken: { id: row.id, problem: "its content was changed after it was written" },
        };
      }
      previous = row.hash;
      after = row.id;
      rows++;
    }
    if (page.rows.length < PAGE) return { rows, head: previous, broken: null };
  }
}
