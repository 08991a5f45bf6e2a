import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { invert, multiply, normalizeLiteral, parseDecimal, ratioOf, roundHalfEven, toSignificant } from "./decimal";

const ratio = (text: string) => {
  const decimal = parseDecimal(text);
  if (!decimal) throw new Error(`not a decimal: ${text}`);
  return ratioOf(decimal);
};

describe("parseDecimal", () => {
  test("reads plain decimals exactly, keeping their scale", () => {
    expect(parseDecimal("11.6120")).toEqual({ units: 116120n, scale: 4 });
    expect(parseDecimal("0.000000000000000001")).toEqual({ units: 1n, scale: 18 });
    expect(parseDecimal("999999999999999999999999999999")).toEqual({ units: 10n ** 30n - 1n, scale: 0 });
  });

  test("refuses anything else", () => {
    for (const bad of ["", "-1", "+1", "1e5", "1.", ".5", "1,000", " 1", "0x10", "NaN", "Infinity", "1.2.3"]) {
      expect(parseDecimal(bad), bad).toBeNull();
    }
  });
});

describe("normalizeLiteral (providers' number literals)", () => {
  test("keeps the digits as written and expands exponents exactly", () => {
    expect(normalizeLiteral("11.6120")).toBe("11.6120");
    expect(normalizeLiteral("1")).toBe("1");
    expect(normalizeLiteral("1.2e-5")).toBe("0.000012");
    expect(normalizeLiteral("1.4657e2")).toBe("146.57");
    expect(normalizeLiteral("5E3")).toBe("5000");
    expect(normalizeLiteral("2.50e+1")).toBe("25.0");
  });

  test("refuses signs, garbage and absurd exponents", () => {
    for (const bad of ["-1", "abc", "1e999", "", "1.2.3", "1e"]) expect(normalizeLiteral(bad), bad).toBeNull();
  });
});

describe("roundHalfEven", () => {
  test("ties go to the even neighbour; everything else to the nearest", () => {
    expect(roundHalfEven(ratio("0.125"), 2)).toBe("0.12");
    expect(roundHalfEven(ratio("0.135"), 2)).toBe("0.14");
    expect(roundHalfEven(ratio("0.1251"), 2)).toBe("0.13");
    expect(roundHalfEven(ratio("2.5"), 0)).toBe("2");
    expect(roundHalfEven(ratio("3.5"), 0)).toBe("4");
    expect(roundHalfEven(ratio("0.5"), 0)).toBe("0");
    expect(roundHalfEven(ratio("0.0705"), 3)).toBe("0.070");
    expect(roundHalfEven(ratio("0.000000000000000001"), 2)).toBe("0.00");
  });

  test("a value with at most `scale` decimals comes back unchanged", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.integer({ min: 0, max: 4 }), (units, scale) => {
        const text = roundHalfEven({ num: units, den: 10n ** BigInt(scale) }, scale);
        expect(parseDecimal(text)).toEqual({ units, scale });
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  test("the result is within half a unit of the exact value, and even on a tie", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 36n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 4 }),
        (num, den, scale) => {
          const text = roundHalfEven({ num, den }, scale);
          const rounded = parseDecimal(text)?.units ?? -1n;
          const twiceError = 2n * (rounded * den - num * 10n ** BigInt(scale));
          const absTwiceError = twiceError < 0n ? -twiceError : twiceError;
          expect(absTwiceError <= den).toBe(true);
          if (absTwiceError === den) expect(rounded % 2n).toBe(0n);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe("toSignificant", () => {
  test("exact when the ratio terminates, otherwise 20 significant digits half to even", () => {
    expect(toSignificant(ratio("0.125"), 20)).toBe("0.125");
    expect(toSignificant(ratio("100"), 20)).toBe("100");
    expect(toSignificant({ num: 1n, den: 3n }, 20)).toBe("0.33333333333333333333");
    expect(toSignificant({ num: 2n, den: 3n }, 20)).toBe("0.66666666666666666667");
    // USD → JPY through EUR with the ECB's 158.92 and 1.0843.
    expect(toSignificant(multiply(ratio("158.92"), invert(ratio("1.0843"))), 20)).toBe("146.56460389191183252");
    expect(toSignificant(invert(ratio("158.92")), 20)).toBe("0.0062924742008557764913");
  });
});
