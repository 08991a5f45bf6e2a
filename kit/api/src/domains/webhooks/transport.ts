// One HTTP POST to a checked address (target.ts): no redirect followed (a 3xx is a failure, since
// following it would reach a place nobody checked), one budget for the whole exchange, and at most
// the first 1 KB of the answer read.
import http from "node:http";
import https from "node:https";
import type { Target } from "./target";

const RESPONSE_PREFIX_BYTES = 1024;

export interface PostOutcome {
  statusCode: number | null;
  latencyMs: number;
  /** The first 1 KB of the answer, as text. */
  responseBody: string | null;
  /** Why it is not a success; null for a 2xx. */
  error: string | null;
}

export function postToTarget(
  target: Extract<Target, { ok: true }>,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  /** Certificates to trust besides the system's (tests: a local receiver's self-signed one). */
  ca?: string,
): Promise<PostOutcome> {
  const started = performance.now();
  const { url } = target;
  const secure = url.protocol === "https:";
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, latencyMs: elapsed() });
    };
    const request = (secure ? https : http).request(
      {
        // The checked address itself: no second lookup between the check and the connection.
        host: target.address,
        family: target.family,
        port: url.port ? Number(url.port) : secure ? 443 : 80,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        agent: false,
        headers: {
          ...headers,
          host: url.host,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "Kit-Webhooks/1",
        },
        // The certificate is checked against the URL's name, not the address connected to.
        ...(secure ? { servername: target.host, rejectUnauthorized: true, ...(ca ? { ca } : {}) } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const text = Buffer.concat(chunks).subarray(0, RESPONSE_PREFIX_BYTES).toString("utf8");
          finish({ statusCode: status, responseBody: text.replaceAll("\u0000", ""), error: statusError(status) });
          response.destroy();
        };
        response.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= RESPONSE_PREFIX_BYTES) done();
        });
        response.on("end", done);
        response.on("error", done);
      },
    );
    const timer = setTimeout(() => {
      finish({ statusCode: null, responseBody: null, error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      finish({ statusCode: null, responseBody: null, error: `connection failed: ${error.code ?? error.message}` });
    });
    request.end(body);
  });
}

function statusError(status: number): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `redirect (HTTP ${status}) not followed`;
  return `HTTP ${status}`;
}
