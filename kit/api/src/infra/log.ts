import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config";

export type { Logger };

/**
 * JSON lines in production, pretty lines in development. Error serialisation drops stacks:
 * they would reach log shippers, and the request id already locates the failure.
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
      paths: ["headers.authorization", "headers.cookie", "*.password", "*.secret", "*.secretKey", "*.privateKey"],
      censor: "[redacted]",
    },
    serializers: { err: serializeError },
  };
  if (destination) return pino(options, destination);
  return config.log.pretty
    ? pino(options, pretty({ colorize: true, sync: true, singleLine: true, ignore: "pid,hostname" }))
    : pino(options);
}

function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  if ("code" in error) out.code = error.code;
  if (error.cause) out.cause = serializeError(error.cause);
  return out;
}
