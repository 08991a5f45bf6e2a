// What reaches the log from an error or a field: no query parameters, no URL credentials or
// keys, no personal data, whichever library made the error and under whichever key it is logged.
import { describe, expect, test } from "bun:test";
import { DrizzleQueryError } from "drizzle-orm";
import { createLogger, serializeError } from "./log";

function captured() {
  const lines: string[] = [];
  const log = createLogger(
    { log: { level: "info", pretty: false } },
    {},
    { write: (line: string) => void lines.push(line) },
  );
  return { log, text: () => lines.join("\n") };
}

describe("serializeError", () => {
  test("a failed query keeps its SQL and loses its parameters, its cause kept", () => {
    const cause = Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
    const error = new DrizzleQueryError(
      'update "kyc_applications" set "first_name" = $1, "address" = $2 where "id" = $3',
      ["Zenobia", '{"line1":"17 Cherry Tree Lane"}', "3e053eb3"],
      cause,
    );
    const out = serializeError(error);
    expect(out).toEqual({
      type: "DrizzleQueryError",
      message: 'Failed query: update "kyc_applications" set "first_name" = $1, "address" = $2 where "id" = $3',
      cause: { type: "Error", message: "Connection terminated unexpectedly", code: "ECONNRESET" },
    });
    // A message that has the parameters appended some other way loses them too.
    expect(serializeError(new Error("Failed query: select 1\nparams: 10.0.0.7,ada@example.com"))).toEqual({
      type: "Error",
      message: "Failed query: select 1",
    });
  });

  test("URLs keep their scheme and host only: no user, password, path key or query token", () => {
    const cases = [
      "connect to postgres://kit:db-s3cret@db.internal:5432/kit failed",
      "HTTP request failed. URL: https://mainnet.example-rpc.io/v3/0123456789abcdef0123",
      "PUT https://AKIAKEY:s3-secret@s3.example.com/kyc-documents/app/passport?X-Amz-Signature=deadbeef",
      "webhook https://hooks.example.com/services/T000/B000/XXXXSECRET?token=tok-123 answered 500",
      "redis://:redis-pass@cache:6379 refused",
    ];
    const messages = cases.map((message) => serializeError(new Error(message)).message as string);
    expect(messages).toEqual([
      "connect to postgres://[redacted]@db.internal:5432/[redacted] failed",
      "HTTP request failed. URL: https://mainnet.example-rpc.io/[redacted]",
      "PUT https://[redacted]@s3.example.com/[redacted]",
      "webhook https://hooks.example.com/[redacted] answered 500",
      "redis://[redacted]@cache:6379 refused",
    ]);
  });

  test("viem's one-line summary stands for its message, which repeats the request", () => {
    const error = Object.assign(
      new Error('HTTP request failed.\n\nURL: https://rpc.example.com/key-123\nRequest body: {"params":["0xabc"]}'),
      { name: "HttpRequestError", shortMessage: "HTTP request failed." },
    );
    expect(serializeError(error)).toEqual({ type: "HttpRequestError", message: "HTTP request failed." });
  });

  test("a data exception's quoted value (a search term, a name) is masked; a constraint name is not", () => {
    const invalid = Object.assign(new Error('invalid input syntax for type uuid: "Zenobia Quartermaine"'), {
      code: "22P02",
    });
    expect(serializeError(invalid).message).toBe('invalid input syntax for type uuid: "[redacted]"');
    const unique = Object.assign(new Error('duplicate key value violates unique constraint "user_email_unique"'), {
      code: "23505",
      detail: "Key (email)=(ada@example.com) already exists.",
    });
    expect(serializeError(unique)).toEqual({
      type: "Error",
      message: 'duplicate key value violates unique constraint "user_email_unique"',
      code: "23505",
    });
  });

  test("a cause chain is followed a few levels only, even when it loops", () => {
    const looping = new Error("outer");
    looping.cause = looping;
    let depth = 0;
    for (let at: Record<string, unknown> | undefined = serializeError(looping); at; at = at.cause as typeof at) depth++;
    expect(depth).toBeLessThanOrEqual(6);
  });
});

describe("the logger", () => {
  test("errors logged under err, error or cause all go through the serializer", () => {
    const { log, text } = captured();
    const error = new DrizzleQueryError("select 1 where email = $1", ["ada@example.com"], new Error("boom"));
    log.error({ err: error }, "a");
    log.error({ error }, "b");
    log.warn({ cause: error }, "c");
    log.error(error, "d");
    expect(text()).not.toContain("ada@example.com");
    expect(text().match(/Failed query: select 1 where email = \$1/g)?.length).toBe(4);
  });

  test("credentials and personal fields are redacted, at the top or one level down", () => {
    const { log, text } = captured();
    log.info(
      {
        email: "ada@example.com",
        password: "hunter2hunter2",
        headers: { authorization: "Bearer abc.def", cookie: "better-auth.session_token=xyz" },
        input: { firstName: "Zenobia", lastName: "Quartermaine", dateOfBirth: "1971-02-03", nationalIdNumber: "ZQ 1" },
        user: { ipAddress: "203.0.113.9", apiKey: "kit_abcdef" },
        token: "0x1234", // token contract addresses stay
      },
      "fields",
    );
    for (const secret of [
      "ada@example.com",
      "hunter2hunter2",
      "abc.def",
      "xyz",
      "Zenobia",
      "Quartermaine",
      "1971-02-03",
      "ZQ 1",
      "203.0.113.9",
      "kit_abcdef",
    ]) {
      expect(text()).not.toContain(secret);
    }
    expect(text()).toContain('"token":"0x1234"');
  });
});
