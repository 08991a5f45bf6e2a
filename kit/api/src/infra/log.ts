import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config";

export type { Logger };

/**
 * Fields never written as they are, at the top of a log line or one level down (`{ err }`,
 * `{ headers }`, `{ input }`): credentials, and the personal data a KYC application carries.
 */
const SENSITIVE_FIELDS = [
  "authorization",
  "cookie",
  "password",
  "secret",
  "secretKey",
  "privateKey",
  "apiKey",
  "email",
  "firstName",
  "lastName",
  "dateOfBirth",
  "nationalIdNumber",
  "ipAddress",
  "params",
];

/**
 * JSON lines in production, pretty lines in development. Errors, under whatever key they are
 * logged, pass through `serializeError`.
 */
export function createLogger(
  config: Pick<Config, "log">,
  base: Record<string, unknown> = {},
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base,
    redact: {
      paths: SENSITIVE_FIELDS.flatMap((field) => [field, `*.${field}`]),
      censor: "[redacted]",
    },
    serializers: { err: serializeError, error: serializeError, cause: serializeError },
  };
  if (destination) return pino(options, destination);
  return config.log.pretty
    ? pino(options, pretty({ colorize: true, sync: true, singleLine: true, ignore: "pid,hostname" }))
    : pino(options);
}

/** Causes followed at most: deeper chains are cut, not walked. */
const MAX_CAUSES = 5;
const MAX_MESSAGE_LENGTH = 2_000;

/**
 * What an error says in a log: its type, code and a scrubbed message, then its causes. Never the
 * stack (the request id locates a failure), never a failed query's parameters (drizzle puts every
 * bound value into its message: names, addresses, search terms, IPs), never the credentials, path
 * or query of a URL (RPC, database, S3 and webhook URLs carry keys there), never extra properties
 * a library hangs on its errors (a driver's `detail` repeats the row, viem's the request body).
 */
export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrubText(String(error)) };
  const type = error.name === "Error" ? (error.constructor?.name ?? "Error") : error.name;
  const out: Record<string, unknown> = { type, message: scrubText(plainMessage(error)) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  // A data exception (SQLSTATE 22xxx) quotes the value it could not take: a search term, a name.
  if (typeof code === "string" && code.startsWith("22")) {
    out.message = String(out.message).replace(/"[^"]*"/g, '"[redacted]"');
  }
  if (error.cause !== undefined && error.cause !== null) {
    out.cause = depth + 1 < MAX_CAUSES ? serializeError(error.cause, depth + 1) : { message: "[further causes cut]" };
  }
  return out;
}

/** The message without what a library appends for debugging: query parameters, request details. */
function plainMessage(error: Error): string {
  // drizzle's DrizzleQueryError: "Failed query: <sql>\nparams: <every bound value>".
  const query = (error as { query?: unknown }).query;
  if (typeof query === "string" && "params" in error) return `Failed query: ${query}`;
  // viem's errors put the request (URL, body, arguments) below a one-line shortMessage.
  const short = (error as { shortMessage?: unknown }).shortMessage;
  if (typeof short === "string" && short.length > 0) return short;
  return error.message;
}

/** Drops appended query parameters and reduces every URL to its scheme and host. */
export function scrubText(text: string): string {
  const cut = text.replace(/\n\s*params:[\s\S]*$/, "");
  const scrubbed = cut.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]*@)?([^\s/?#"'<>]+)([/?#][^\s"'<>]*)?/gi,
    (_url, scheme: string, userinfo: string | undefined, host: string, rest: string | undefined) =>
      `${scheme}${userinfo ? "[redacted]@" : ""}${host}${rest ? "/[redacted]" : ""}`,
  );
  return scrubbed.length > MAX_MESSAGE_LENGTH ? `${scrubbed.slice(0, MAX_MESSAGE_LENGTH)}…` : scrubbed;
}
