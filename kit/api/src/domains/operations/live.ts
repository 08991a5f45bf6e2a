// tokens.operations.events: a token's operations as their status changes, for the console. The
// stream polls the table (one indexed query per POLL_MS per open stream; issuers only, few), so a
// change made by any process, api or worker, shows without a publishing side. A change whose
// transaction started before the last poll but committed after it carries an older `updated_at`:
// each poll therefore looks OVERLAP_MS back and skips what it already sent.
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { requireToken, type TokenLookupDeps } from "../tokens/service";
import type { OperationView } from "./contract";
import { type Actor, requireGrant } from "./grants";
import { tokenOperations } from "./schema";
import { isUserOperation, operationView, userOperationsOnly } from "./service";

const POLL_MS = 500;
const OVERLAP_MS = 5_000;

type LiveDeps = TokenLookupDeps & { db: Database };

/** Checks access first (a refusal is the call's answer), then streams until `signal` aborts. */
export async function watchOperations(
  deps: LiveDeps,
  actor: Actor,
  address: string,
  signal: AbortSignal | undefined,
): Promise<AsyncGenerator<OperationView, void>> {
  const token = await requireToken(deps, address);
  await requireGrant(deps, actor, token.address);
  const { rows } = await deps.db.execute<{ now: string }>(sql`select now()::text as now`);
  let since = new Date(rows[0]?.now ?? Date.now());
  return (async function* stream() {
    const sent = new Map<string, string>(); // id → the updated_at it was last sent with
    while (!signal?.aborted) {
      const changed = await deps.db
        .select()
        .from(tokenOperations)
        .where(
          and(
            eq(tokenOperations.chainId, token.chainId),
            eq(tokenOperations.token, token.address),
            userOperationsOnly,
            gt(tokenOperations.updatedAt, new Date(since.getTime() - OVERLAP_MS)),
          ),
        )
        .orderBy(asc(tokenOperations.updatedAt), asc(tokenOperations.id))
        .limit(1_000);
      for (const row of changed) {
        const version = `${row.updatedAt.toISOString()}:${row.status}`;
        if (sent.get(row.id) === version) continue;
        sent.set(row.id, version);
        if (row.updatedAt > since) since = row.updatedAt;
        if (isUserOperation(row)) yield operationView(row);
      }
      for (const [id, version] of sent) {
        if (new Date(version.slice(0, 24)).getTime() < since.getTime() - OVERLAP_MS) sent.delete(id);
      }
      await sleep(POLL_MS, signal);
    }
  })();
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
