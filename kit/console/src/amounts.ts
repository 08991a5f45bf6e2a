// Token amounts as a person types and reads them: whole-token decimal strings, checked against the
// token's decimals before anything is sent, and the API's smallest-unit integers written back out
// exactly. Strings and bigints only: a float would round 0.1 + 0.2, or an 18-decimal balance.

const DECIMAL = /^\d+(\.\d+)?$/;

export type AmountCheck = { ok: true; amount: string } | { ok: false; message: string };

/** `text` as the API takes it ("12.5"), or why it is not an amount of a token with `decimals`. */
export function checkAmount(text: string, decimals: number): AmountCheck {
  const value = text.trim();
  if (value === "") return { ok: false, message: "give an amount" };
  if (!DECIMAL.test(value)) {
    return {
      ok: false,
      message: "write the amount as digits with at most one point, e.g. 12.5 (no sign or separators)",
    };
  }
  const [whole = "", fraction = ""] = value.split(".");
  if (fraction.length > decimals) {
    return {
      ok: false,
      message:
        decimals === 0
          ? "this token has no decimals: give a whole number"
          : `this token has ${decimals} decimals; ${value} has ${fraction.length}`,
    };
  }
  if (!/[1-9]/.test(whole + fraction)) return { ok: false, message: "the amount must be greater than zero" };
  return { ok: true, amount: value };
}

/** The smallest-unit integer `raw` in whole tokens, exactly, without trailing zeros ("1.5", "100"). */
export function formatUnits(raw: string | bigint, decimals: number): string {
  const digits = BigInt(raw)
    .toString()
    .padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

/** The sum of smallest-unit integers. */
export function sumUnits(raws: readonly (string | bigint)[]): bigint {
  return raws.reduce<bigint>((sum, raw) => sum + BigInt(raw), 0n);
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Why `text` is not a wallet address, or undefined when it is one. */
export function checkAddress(text: string): string | undefined {
  const value = text.trim();
  if (value === "") return "give a wallet address";
  return ADDRESS.test(value) ? undefined : "a wallet address is 0x followed by 40 hexadecimal digits";
}
