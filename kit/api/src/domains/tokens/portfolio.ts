// The signed-in user's holdings: the indexed balances of their linked wallets, each valued with
// the token's price (its metadata) and converted into their display currency. A value is the exact
// product balance × price, converted and rounded once (half to even, to the display currency's
// minor units); the total is the sum of the rounded values, so it adds up to what is shown.

import type { Deps } from "../../deps";
import { KitError } from "../../errors";
import { listWalletAddresses } from "../auth/wallets";
import { getCurrency } from "../exchange-rates/currencies";
import { formatDecimal, parseDecimal, ratioOf, roundHalfEven } from "../exchange-rates/decimal";
import { convert } from "../exchange-rates/service";
import { getUserSettings } from "../settings/service";
import type { Portfolio, Position } from "./contract";
import { getTokenPrice } from "./metadata";
import { amountOf, balancesOf } from "./service";

export type PortfolioDeps = Pick<Deps, "config" | "db" | "redis" | "log" | "storage" | "chain" | "queries" | "local">;

type Price = { price: string; currency: string } | null | "unavailable";

export async function getPortfolio(deps: PortfolioDeps, userId: string): Promise<Portfolio> {
  const [wallets, settings] = await Promise.all([listWalletAddresses(deps, userId), getUserSettings(deps, userId)]);
  const currency = settings.currency;
  const minorUnits = (await getCurrency(deps, currency))?.minorUnits ?? 2;
  const held = await balancesOf(deps, wallets);

  // One metadata read per token, however many wallets hold it.
  const prices = new Map<string, Promise<Price>>();
  const priceOf = (token: string): Promise<Price> => {
    let found = prices.get(token);
    if (!found) {
      found = getTokenPrice(deps, token).catch((error) => {
        deps.log.warn({ token, err: { name: (error as Error)?.name } }, "token price unavailable for a portfolio");
        return "unavailable" as const;
      });
      prices.set(token, found);
    }
    return found;
  };

  const positions = await Promise.all(
    held.map(async (row): Promise<Position> => {
      const price = await priceOf(row.token);
      const position: Position = {
        token: row.token,
        name: row.name,
        symbol: row.symbol,
        wallet: row.holder,
        balance: amountOf(row.balance, row.decimals),
        price: null,
        value: null,
        valueMissing: null,
      };
      if (price === "unavailable") return { ...position, valueMissing: "price_unavailable" };
      if (!price) return { ...position, valueMissing: "no_price" };
      position.price = { amount: price.price, currency: price.currency };
      const value = await valueIn(deps, row.balance, row.decimals, price, currency, minorUnits);
      return value === null
        ? { ...position, valueMissing: "no_rate" }
        : { ...position, value: { amount: value, currency } };
    }),
  );

  let totalUnits = 0n;
  for (const p of positions) {
    const parsed = p.value ? parseDecimal(p.value.amount) : null;
    if (parsed) totalUnits += parsed.units * 10n ** BigInt(minorUnits - parsed.scale);
  }
  return {
    currency,
    wallets,
    positions,
    total: formatDecimal(totalUnits, minorUnits),
    complete: positions.every((p) => p.valueMissing === null),
  };
}

/**
 * balance (raw / 10^decimals) × price in `target`, rounded half to even to `minorUnits`; null when
 * no exchange rate joins the price's currency to `target`.
 */
async function valueIn(
  deps: PortfolioDeps,
  rawBalance: string,
  decimals: number,
  price: { price: string; currency: string },
  target: string,
  minorUnits: number,
): Promise<string | null> {
  const parsedPrice = parseDecimal(price.price);
  if (!parsedPrice) return null;
  // Exact: both factors are finite decimals, so is their product.
  const exact = formatDecimal(BigInt(rawBalance) * parsedPrice.units, decimals + parsedPrice.scale);
  if (price.currency === target) {
    const value = parseDecimal(exact);
    return value ? roundHalfEven(ratioOf(value), minorUnits) : null;
  }
  try {
    const converted = await convert(deps, { from: price.currency, to: target, amount: exact });
    return converted?.result ?? null;
  } catch (error) {
    // A currency Kit no longer knows is a missing rate for this position, not the caller's error.
    if (error instanceof KitError) return null;
    throw error;
  }
}
