// The webhook URL rules as plain functions (the webhooks domain checks endpoints with them; the
// address actually connected to is checked again when delivering).
import { describe, expect, test } from "bun:test";
import { canonicalLocale, canonicalTimeZone, webhookUrlProblem } from "./validation";

describe("webhookUrlProblem", () => {
  test("https on a public host passes", () => {
    expect(webhookUrlProblem("https://hooks.example.com/kit?team=ops")).toBeNull();
    expect(webhookUrlProblem("https://[2606:4700::1111]/kit")).toBeNull();
  });

  test("http, private, loopback, link-local, internal names and non-URLs are refused, each saying why", () => {
    const refused: [string, RegExp][] = [
      ["http://hooks.example.com/kit", /https/],
      ["https://127.0.0.1/kit", /loopback/],
      ["https://2130706433/kit", /loopback/], // 127.0.0.1 spelled as one number
      ["https://10.0.0.1/kit", /private/],
      ["https://192.168.1.10/kit", /private/],
      ["https://100.64.0.1/kit", /carrier-grade/],
      ["https://[::1]/kit", /loopback/],
      ["https://[::ffff:127.0.0.1]/kit", /loopback/],
      ["https://[fd00::1]/kit", /unique-local/],
      ["https://[fe80::1]/kit", /link-local/],
      ["https://169.254.169.254/latest/meta-data", /link-local/],
      ["https://localhost/kit", /internal host/],
      ["https://api.localhost/kit", /internal host/],
      ["https://metadata.google.internal/kit", /internal host/],
      ["https://intranet/kit", /internal host/],
      ["https://hooks/kit", /fully qualified/],
      ["not a url", /absolute URL/],
    ];
    for (const [url, why] of refused) expect(webhookUrlProblem(url) ?? "", url).toMatch(why);
  });
});

test("locales and time zones are canonicalised, or refused", () => {
  expect(canonicalLocale("EN-us")).toBe("en-US");
  expect(canonicalLocale("en_US")).toBeNull();
  expect(canonicalTimeZone("europe/paris")).toBe("Europe/Paris");
  expect(canonicalTimeZone("+01:00")).toBeNull();
});
