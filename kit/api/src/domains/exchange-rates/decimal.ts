// Exact decimal arithmetic for rates and amounts, in bigints. A conversion is a product of stored
// quotes and their inverses, so it is carried as one exact fraction and rounded once, at the end,
// half to even. (dnum rounds each division and has no half-to-even mode, hence this module.)

/** A non-negative decimal: `units / 10^scale`. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/** An exact positive fraction. */
export interface Ratio {
  num: bigint;
  den: bigint;
}

const PLAIN = /^(\d+)(?:\.(\d+))?$/;
const LITERAL = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A plain decimal string ("1250.50"); null when it is anything else (sign, exponent, spaces). */
export function parseDecimal(text: string): Decimal | null {
  const match = PLAIN.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? "";
  return { units: BigInt(`${match[1]}${fraction}`), scale: fraction.length };
}

/**
 * A provider's number literal, exponent allowed ("1.2e-5"), as a plain decimal string with the
 * digits it was written with ("11.6120" stays "11.6120"); null when it is not a non-negative
 * number or its exponent is absurd.
 */
export function normalizeLiteral(text: string): string | null {
  const match = LITERAL.exec(text);
  if (!match) return null;
  const exponent = Number(match[3] ?? "0");
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 100) return null;
  if (exponent === 0) return match[2] === undefined ? (match[1] as string) : `${match[1]}.${match[2]}`;
  const fraction = match[2] ?? "";
  const scale = fraction.length - exponent;
  const units = BigInt(`${match[1]}${fraction}`);
  return scale >= 0 ? formatDecimal(units, scale) : formatDecimal(units * 10n ** BigInt(-scale), 0);
}

/** `units / 10^scale` written out with exactly `scale` decimals. */
export function formatDecimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${body}` : body;
}

export function ratioOf({ units, scale }: Decimal): Ratio {
  return { num: units, den: 10n ** BigInt(scale) };
}

export function multiply(a: Ratio, b: Ratio): Ratio {
  return { num: a.num * b.num, den: a.den * b.den };
}

export function invert(a: Ratio): Ratio {
  return { num: a.den, den: a.num };
}

/** `num / den` rounded half to even to a whole number (both positive, or num zero). */
function divideHalfEven(num: bigint, den: bigint): bigint {
  const quotient = num / den;
  const twiceRemainder = 2n * (num % den);
  if (twiceRemainder > den || (twiceRemainder === den && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

/** The fraction rounded half to even to `scale` decimals, written out with exactly that many. */
export function roundHalfEven(value: Ratio, scale: number): string {
  return formatDecimal(divideHalfEven(value.num * 10n ** BigInt(scale), value.den), scale);
}

/**
 * The fraction as a decimal string: exact when it terminates within `digits` significant digits,
 * otherwise rounded half to even to that many. Trailing zeros after the point are dropped.
 */
export function toSignificant(value: Ratio, digits: number): string {
  if (value.num === 0n) return "0";
  // The number of integer digits of num/den (1 for values below 1, whose leading zeros are free).
  const integerDigits = (value.num / value.den).toString().length;
  let scale = Math.max(digits - integerDigits, 0);
  if (value.num < value.den) {
    // Below 1: count the zeros after the point, which are not significant.
    let zeros = 0;
    let scaled = value.num * 10n;
    while (scaled < value.den) {
      scaled *= 10n;
      zeros += 1;
    }
    scale = digits + zeros;
  }
  const text = roundHalfEven(value, scale);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
