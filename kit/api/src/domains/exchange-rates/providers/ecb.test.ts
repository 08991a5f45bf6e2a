import { describe, expect, test } from "bun:test";
import { readFixture } from "../../../../test/fx-providers";
import { ProviderError } from "./common";
import { parseEcbXml } from "./ecb";

describe("ECB reference rates (XML)", () => {
  test("the daily file: 30 quotes per 1 EUR, the reference date at 00:00 UTC, decimal text as written", async () => {
    const { quotes, rejected } = parseEcbXml(await readFixture("ecb-eurofxref-daily.xml"));
    expect(rejected).toEqual([]);
    expect(quotes).toHaveLength(30);
    expect(new Set(quotes.map((q) => q.base))).toEqual(new Set(["EUR"]));
    const byCode = Object.fromEntries(quotes.map((q) => [q.quote, q]));
    expect(byCode.USD).toEqual({
      base: "EUR",
      quote: "USD",
      rate: "1.0843",
      effectiveAt: new Date("2026-11-20T00:00:00Z"),
    });
    expect(byCode.NOK?.rate).toBe("11.6120");
    expect(byCode.ISK?.rate).toBe("148.90");
    expect(byCode.JPY?.rate).toBe("158.92");
  });

  test("the history file: every day, each with its own date", async () => {
    const { quotes } = parseEcbXml(await readFixture("ecb-eurofxref-hist-90d.xml"));
    expect(quotes).toHaveLength(40);
    expect([...new Set(quotes.map((q) => q.effectiveAt.toISOString().slice(0, 10)))]).toEqual([
      "2026-11-20",
      "2026-11-19",
      "2026-11-18",
      "2026-11-17",
      "2026-11-14",
    ]);
    expect(quotes.find((q) => q.quote === "USD" && q.effectiveAt.toISOString().startsWith("2026-11-19"))?.rate).toBe(
      "1.0803",
    );
  });

  test("double quotes, and malformed entries rejected one by one", () => {
    const xml = `<?xml version="1.0"?><gesmes:Envelope xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <Cube><Cube time="2026-11-20">
        <Cube currency="USD" rate="1.0843"/>
        <Cube rate="0.85542" currency="GBP" />
        <Cube currency="XX" rate="1.2"/>
        <Cube currency="CHF" rate="-0.9"/>
        <Cube currency="SEK" rate="0"/>
        <Cube currency="NOK" rate="abc"/>
      </Cube></Cube></gesmes:Envelope>`;
    const { quotes, rejected } = parseEcbXml(xml);
    expect(quotes.map((q) => `${q.quote}=${q.rate}`)).toEqual(["USD=1.0843", "GBP=0.85542"]);
    expect(rejected).toHaveLength(4);
  });

  test("a document that is not the ECB's, or holds no rates, is the provider's failure", () => {
    expect(() => parseEcbXml("<html>maintenance</html>")).toThrow(ProviderError);
    expect(() => parseEcbXml('<Envelope xmlns="eurofxref"><Cube></Cube></Envelope>')).toThrow(/no rates/);
  });
});
