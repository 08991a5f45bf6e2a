import { describe, expect, test } from "bun:test";
import { readFixture } from "../../../../test/fx-providers";
import { ProviderError } from "./common";
import { parseErApiJson } from "./er-api";

describe("ExchangeRate-API /v6/latest/{base} (JSON)", () => {
  test("quotes per 1 base_code at time_last_update_unix; the base's own 1 is left out", async () => {
    const body = await readFixture("er-api-latest-USD.json");
    const { quotes, rejected } = parseErApiJson(body);
    expect(rejected).toEqual([]);
    const codes = Object.keys((JSON.parse(body) as { rates: Record<string, number> }).rates);
    expect(quotes).toHaveLength(codes.length - 1);
    expect(quotes.some((q) => q.quote === "USD")).toBe(false);
    const byCode = Object.fromEntries(quotes.map((q) => [q.quote, q]));
    expect(byCode.EUR).toEqual({ base: "USD", quote: "EUR", rate: "0.9222", effectiveAt: new Date(1763596951 * 1000) });
    expect(byCode.BHD?.rate).toBe("0.376");
    expect(byCode.JPY?.rate).toBe("146.57");
  });

  test("numbers are read from the body's text, never through a float", () => {
    const body = `{"result":"success","base_code":"USD","time_last_update_unix":1763596951,
      "rates":{"USD":1,"CHF":0.87310,"JPY":1.4657e2,"VND":25380.500000000000000001,"XYZ":"1.5","EUR":-1}}`;
    const { quotes, rejected } = parseErApiJson(body);
    expect(quotes.map((q) => `${q.quote}=${q.rate}`)).toEqual([
      "CHF=0.87310",
      "JPY=146.57",
      "VND=25380.500000000000000001",
    ]);
    expect(rejected).toEqual(['XYZ="1.5"', "EUR=-1"]);
  });

  test("the error shape names its error-type", async () => {
    const body = await readFixture("er-api-error.json");
    expect(() => parseErApiJson(body)).toThrow(ProviderError);
    expect(() => parseErApiJson(body)).toThrow('er-api: answered with error "unsupported-code"');
  });

  test("anything else is the provider's failure", () => {
    for (const body of [
      "<html>",
      "[]",
      '{"result":"success"}',
      '{"result":"success","base_code":"USD","time_last_update_unix":1,"rates":{}}',
      '{"result":"success","base_code":"USD","rates":{"EUR":0.9}}',
    ]) {
      expect(() => parseErApiJson(body), body).toThrow(ProviderError);
    }
  });
});
