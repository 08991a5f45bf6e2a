// A real HTTP receiver for webhook tests: a local Bun server that keeps every request it gets
// (headers, raw body) and answers what the test scripted, and checks signatures with the
// independent `standardwebhooks` library, not Kit's signer.
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

type ScriptedAnswer = { status: number; body?: string; headers?: Record<string, string> } | "hang";

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** The answers to give at `path`, in order; once used up, 200 "ok". */
  script(path: string, ...answers: ScriptedAnswer[]): void;
  stop(): void;
}

export function startWebhookReceiver(): WebhookReceiver {
  const received: ReceivedWebhook[] = [];
  const answers = new Map<string, ScriptedAnswer[]>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const body = await request.text();
      const path = new URL(request.url).pathname;
      received.push({ path, headers: Object.fromEntries(request.headers), body });
      const answer = answers.get(path)?.shift() ?? { status: 200, body: "ok" };
      // Answers only when the server stops: an attempt that must time out.
      if (answer === "hang") return new Promise<Response>(() => {});
      return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    received,
    script: (path, ...next) => void answers.set(path, next),
    stop: () => void server.stop(true),
  };
}

/** Whether `secret` verifies the webhook, as a receiver using `standardwebhooks` would check it. */
export function verifiesWith(secret: string, webhook: ReceivedWebhook): boolean {
  try {
    new Webhook(secret).verify(webhook.body, webhook.headers);
    return true;
  } catch {
    return false;
  }
}
