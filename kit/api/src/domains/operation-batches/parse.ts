// A batch file's lines, checked one by one without the chain: format, address, amount within the
// token's decimals, duplicates, length and count bounds. Messages never repeat a cell's content:
// an issuer may open the error report in a spreadsheet, where a cell such as `=cmd|…` would run.
import type { BatchKind } from "./contract-values";
import type { BatchLineError } from "./schema";

/** 10,000 lines of `address,amount` stay well under MAX_FILE_BYTES. */
export const MAX_LINES = 10_000;
export const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** An address, a comma and a 60-digit amount with 18 decimals fit in about 125 characters. */
const MAX_LINE_CHARS = 200;
/** Errors kept for the report; the count says how many there were. */
export const MAX_STORED_ERRORS = 1_000;

export interface BatchLine {
  line: number;
  /** Lowercase. */
  wallet: string;
  /** Mints: in the token's smallest unit. */
  amount: bigint | null;
}

export interface ParsedBatch {
  lines: BatchLine[];
  errors: BatchLineError[];
  errorCount: number;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const AMOUNT = /^\d{1,60}(\.\d{1,18})?$/;
const HEADER = /^\s*"?(address|wallet|to|recipient)"?\s*(,|$)/i;
// What spreadsheets take for a formula (OWASP's CSV injection list).
const FORMULA_START = /^[=+\-@\t\r]/;

function cellsOf(text: string): string[] {
  return text.split(",").map((cell) => {
    const trimmed = cell.trim();
    return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
  });
}

function amountOf(cell: string, decimals: number): { value: bigint } | { error: string } {
  if (!AMOUNT.test(cell))
    return { error: "the amount must be a plain decimal such as 12.5 (no sign, exponent or separators)" };
  const [whole = "0", fraction = ""] = cell.split(".");
  if (fraction.length > decimals) {
    return { error: `the amount has ${fraction.length} decimals; the token has ${decimals}` };
  }
  const value = BigInt(whole + fraction.padEnd(decimals, "0"));
  if (value === 0n) return { error: "the amount must be greater than zero" };
  return { value };
}

function checkLine(
  cells: string[],
  kind: BatchKind,
  decimals: number,
): { wallet: string; amount: bigint | null } | string {
  const expected = kind === "mint" ? 2 : 1;
  if (cells.some((cell) => FORMULA_START.test(cell))) {
    return "a cell starts with =, +, -, @ or a tab: spreadsheet formulas are refused";
  }
  if (cells.length !== expected) {
    return kind === "mint" ? "expected two columns: address,amount" : "expected one column: the wallet's address";
  }
  const [address = "", amountCell = ""] = cells;
  if (!ADDRESS.test(address)) return "the address must be 0x followed by 40 hex digits";
  if (kind === "freeze") return { wallet: address.toLowerCase(), amount: null };
  const amount = amountOf(amountCell, decimals);
  if ("error" in amount) return amount.error;
  return { wallet: address.toLowerCase(), amount: amount.value };
}

/**
 * Every line of `text` (UTF-8, an optional BOM, LF or CRLF line ends, an optional header line):
 * the valid ones, and the errors by line number (1-based, as an editor counts them).
 */
export function parseBatch(text: string, kind: BatchKind, decimals: number): ParsedBatch {
  const rows = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  while (rows.length > 0 && rows.at(-1)?.trim() === "") rows.pop();
  const errors: BatchLineError[] = [];
  let errorCount = 0;
  const fail = (line: number, message: string) => {
    errorCount++;
    if (errors.length < MAX_STORED_ERRORS) errors.push({ line, message });
  };
  const lines: BatchLine[] = [];
  const seen = new Map<string, number>();
  let dataLines = 0;
  for (const [index, row] of rows.entries()) {
    const line = index + 1;
    if (row.trim() === "") continue;
    if (dataLines === 0 && lines.length === 0 && errorCount === 0 && HEADER.test(row)) continue;
    dataLines++;
    if (dataLines > MAX_LINES) {
      if (dataLines === MAX_LINES + 1) fail(line, `more than ${MAX_LINES} lines; split the file into several batches`);
      continue;
    }
    if (row.length > MAX_LINE_CHARS) {
      fail(line, `longer than ${MAX_LINE_CHARS} characters`);
      continue;
    }
    const checked = checkLine(cellsOf(row), kind, decimals);
    if (typeof checked === "string") {
      fail(line, checked);
      continue;
    }
    const first = seen.get(checked.wallet);
    if (first !== undefined) {
      fail(line, `the same address as line ${first}: give each address once`);
      continue;
    }
    seen.set(checked.wallet, line);
    lines.push({ line, ...checked });
  }
  if (dataLines === 0) fail(1, "the file has no lines to process");
  return { lines, errors, errorCount };
}
