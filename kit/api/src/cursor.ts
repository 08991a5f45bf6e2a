// Keyset cursors: the sort key of a page's last row, handed to the caller as opaque base64url JSON
// and checked value by value when it comes back, so a page costs ~limit index entries however deep
// it is (an offset reads and discards every row before it).
import { KitError } from "./errors";

export function encodeCursor(values: string[]): string {
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

const badCursor = () =>
  new KitError("BAD_REQUEST", "cursor is not one this endpoint gave out; start again without it.", [
    { path: "cursor", message: "not a cursor of this listing" },
  ]);

/** The cursor's values, each checked by its pattern; BAD_REQUEST for anything else. */
export function decodeCursor(cursor: string, patterns: RegExp[]): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== patterns.length ||
    !parsed.every((v, i) => typeof v === "string" && (patterns[i] as RegExp).test(v))
  ) {
    throw badCursor();
  }
  return parsed as string[];
}

/** A timestamptz to the microsecond, as `to_char(… at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` prints it. */
export const MICROSECOND_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
