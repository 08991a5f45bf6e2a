// Whole-token decimal strings to the token's smallest unit and back, exactly (no floats).
import { KitError } from "../../errors";

/** "12.5" with 6 decimals → 12500000n; a fraction longer than the token's decimals is the caller's error. */
export function toSmallestUnit(value: string, decimals: number, path: string): bigint {
  const [whole = "0", fraction = ""] = value.split(".");
  if (fraction.length > decimals) {
    const message = `${value} has ${fraction.length} decimals; the token has ${decimals}`;
    throw new KitError("BAD_REQUEST", `Invalid input: ${path}: ${message}`, [{ path, message }]);
  }
  return BigInt(whole + fraction.padEnd(decimals, "0"));
}

export function fromSmallestUnit(raw: bigint, decimals: number): string {
  const digits = raw.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}
