// The zod fields several domains' contracts share: times, currency and country codes, addresses,
// page cursors and sizes. Zod (and viem's checksum) only — no config, infra or server import —,
// because the client package reads the contracts. A contract that needs its own wording adds its
// own `.meta()`; the checks and messages stay these.
import { getAddress } from "viem";
import { z } from "zod";

/** An ISO 8601 time with a zone (`Z` or an offset), as every answer writes its times. */
export const isoDateTime = z.iso.datetime({ offset: true });

/**
 * An ISO 4217 code in any case, upper-cased; whether Kit knows the currency is the service's check.
 * `what` names the field in the messages, for a place with no field path (a path parameter).
 */
export function currencyCode(what?: string) {
  if (!what) {
    return z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as EUR");
  }
  return z
    .string({ error: `${what} is required: a three-letter ISO 4217 currency code, such as EUR` })
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{3}$/, `${what} must be a three-letter ISO 4217 currency code, such as EUR`);
}

// Region codes Intl knows that are not countries a person lives in or holds a passport of.
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"]);
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

/** An ISO 3166-1 alpha-2 code of a real country or territory (upper-cased). */
export const countryCode = z
  .string()
  .trim()
  .toUpperCase()
  .refine(
    (v) => /^[A-Z]{2}$/.test(v) && !NOT_COUNTRIES.has(v) && regionNames.of(v) !== v,
    "expected an ISO 3166-1 alpha-2 country code such as FR or DE",
  )
  .meta({ description: "ISO 3166-1 alpha-2 country code" });

/** An EVM address in any case (a wrong EIP-55 checksum is not held against it); answered checksummed. */
export const evmAddress = (what: string) =>
  z
    .string({ error: `${what} is required: an address, 0x and 40 hex digits` })
    .trim()
    .regex(/^0x[0-9a-fA-F]{40}$/, `${what} must be an address: 0x followed by 40 hex digits`)
    .transform((v) => getAddress(v.toLowerCase()))
    .meta({ description: "0x and 40 hex digits, any case; answers use the EIP-55 checksummed form" });

/** The `nextCursor` a keyset-paginated listing gave out (cursor.ts encodes and checks it). */
export const pageCursor = (maxLength: number) =>
  z.string().max(maxLength).optional().meta({ description: "`nextCursor` of the previous page" });

/** How many items a page holds, from 1 to `max`; a query-string value is coerced. */
export function pageLimit(max: number) {
  const problem = `limit must be a whole number from 1 to ${max}`;
  return z.coerce
    .number({ error: problem })
    .int({ error: problem })
    .min(1, { error: problem })
    .max(max, { error: problem });
}
