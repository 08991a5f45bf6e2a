import { describe, expect, test } from "bun:test";
import { checkAddress, checkAmount, formatUnits, sumUnits } from "./amounts";

describe("amounts typed in the console", () => {
  test("a decimal string within the token's decimals is taken as written (trimmed)", () => {
    expect(checkAmount(" 12.5 ", 18)).toEqual({ ok: true, amount: "12.5" });
    expect(checkAmount("0.000000000000000001", 18)).toEqual({ ok: true, amount: "0.000000000000000001" });
    expect(checkAmount("100", 0)).toEqual({ ok: true, amount: "100" });
  });

  test("more decimals than the token has, nothing, zero, a sign, an exponent or a separator are refused in words", () => {
    expect(checkAmount("2.5", 0)).toEqual({ ok: false, message: "this token has no decimals: give a whole number" });
    expect(checkAmount("1.123", 2)).toEqual({ ok: false, message: "this token has 2 decimals; 1.123 has 3" });
    for (const text of ["", "  ", "0", "0.000", "-1", "1e3", "1,000", "1.", ".5", "1.2.3", "0x10"]) {
      expect({ text, ok: checkAmount(text, 18).ok }).toEqual({ text, ok: false });
    }
  });
});

describe("amounts read from Kit", () => {
  test("smallest units are written out exactly, beyond what a float holds", () => {
    expect(formatUnits("12500000000000000000", 18)).toBe("12.5");
    expect(formatUnits("1", 18)).toBe("0.000000000000000001");
    expect(formatUnits("123456789012345678901234567890", 18)).toBe("123456789012.34567890123456789");
    expect(formatUnits(0n, 6)).toBe("0");
    expect(formatUnits("42", 0)).toBe("42");
  });

  test("sums stay exact", () => {
    expect(sumUnits(["9007199254740993", "1"])).toBe(9007199254740994n);
  });
});

test("addresses: 0x and 40 hex digits, in any case", () => {
  expect(checkAddress(`0x${"aB".repeat(20)}`)).toBeUndefined();
  expect(checkAddress("")).toBe("give a wallet address");
  expect(checkAddress("0x123")).toContain("40 hexadecimal digits");
});
