// The line checks alone (pure logic): what the validation job refuses before asking the chain.
import { describe, expect, test } from "bun:test";
import { MAX_STORED_ERRORS, parseBatch } from "./parse";

const a = `0x${"a".repeat(40)}`;
const b = `0x${"B".repeat(40)}`;

describe("parseBatch", () => {
  test("amounts in the token's smallest unit; addresses lowercase; quoted cells; CR-only line ends", () => {
    const parsed = parseBatch(`Address,Amount\r"${a}", "1.25"\r${b},7\r`, "mint", 6);
    expect(parsed.errors).toEqual([]);
    expect(parsed.lines).toEqual([
      { line: 2, wallet: a, amount: 1_250_000n },
      { line: 3, wallet: b.toLowerCase(), amount: 7_000_000n },
    ]);
  });

  test("a header only on the first line; later, the same text is an error", () => {
    const parsed = parseBatch(`${a}\nwallet\n`, "freeze", 0);
    expect(parsed.lines).toHaveLength(1);
    expect(parsed.errors).toEqual([{ line: 2, message: "the address must be 0x followed by 40 hex digits" }]);
  });

  test("freezes take one column; mints two", () => {
    expect(parseBatch(`${a},1\n`, "freeze", 0).errors[0]?.message).toContain("one column");
    expect(parseBatch(`${a}\n`, "mint", 0).errors[0]?.message).toContain("two columns");
  });

  test("a duplicate differing only in case is still a duplicate", () => {
    const parsed = parseBatch(`${a},1\n${a.toUpperCase().replace("0X", "0x")},2\n`, "mint", 0);
    expect(parsed.errors).toEqual([{ line: 2, message: "the same address as line 1: give each address once" }]);
  });

  test("formula cells in any column are refused, without repeating them", () => {
    for (const cell of ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1"]) {
      const parsed = parseBatch(`${a},${cell}\n`, "mint", 0);
      expect(parsed.errors[0]?.message).toContain("formulas are refused");
      expect(parsed.errors[0]?.message).not.toContain(cell.trim());
    }
  });

  test("an empty file, or one of blank lines, has nothing to process", () => {
    expect(parseBatch("", "mint", 0).errors).toEqual([{ line: 1, message: "the file has no lines to process" }]);
    expect(parseBatch("\uFEFF\r\n\r\n", "freeze", 0).errorCount).toBe(1);
  });

  test(`every error is counted, the first ${MAX_STORED_ERRORS} kept`, () => {
    const parsed = parseBatch(Array.from({ length: 1_500 }, () => "nope,1").join("\n"), "mint", 0);
    expect(parsed.errorCount).toBe(1_500);
    expect(parsed.errors).toHaveLength(MAX_STORED_ERRORS);
  });
});
