// The currency list (ISO 4217, seeded by migration), as other domains may read it: through these
// functions, never the table. Kept apart from the rates service so that either can change alone.
import { eq } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { currencies } from "./schema";

export interface Currency {
  code: string;
  name: string;
  /** Digits after the decimal point: JPY 0, EUR 2, BHD 3. */
  minorUnits: number;
}

/** The currency with this ISO 4217 code (exact, upper case), or null when Kit does not know it. */
export async function getCurrency({ db }: { db: Database }, code: string): Promise<Currency | null> {
  const [row] = await db.select().from(currencies).where(eq(currencies.code, code));
  return row ?? null;
}
