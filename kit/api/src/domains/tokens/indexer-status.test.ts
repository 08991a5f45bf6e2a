// What the public and admins see of a failing indexer. A node's error message names its URL (with
// the API key that hosted nodes put in its path) and the request body: /ready answers in fixed words
// and numbers only; admins (system.indexer) get the error redacted, and so does the log.
import { afterAll, expect, test } from "bun:test";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { createOperationalApp } from "../../app";
import { createLogger } from "../../infra/log";
import type { IndexerOverview } from "./contract-indexer";
import { startIndexer } from "./indexer";

const SECRET = "kit-secret-api-key-5f1c2e9d";
// A node that is there but fails every request, as a hosted node does when it is down.
const node = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response("upstream unavailable", { status: 503 }),
});
afterAll(() => node.stop(true));
const kit = await createTestKit({ env: { RPC_URL: `http://127.0.0.1:${node.port}/v3/${SECRET}` } });

test("a failing node: /ready says `failing` without the RPC URL; admins and the log get the error redacted", async () => {
  const lines: string[] = [];
  const log = createLogger(
    { log: { level: "info", pretty: false } },
    {},
    { write: (line: string) => lines.push(line) },
  );
  const indexer = startIndexer({ config: kit.config, redis: kit.deps.redis, log });
  try {
    await eventually("the indexer to fail", () => lines.some((line) => line.includes("indexer failed; retrying")));
    const app = createOperationalApp(kit.deps, { indexer });
    const response = await app.fetch(new Request("http://kit.test/ready"));
    const text = await response.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("/v3/");
    expect(response.status).toBe(503);
    expect(JSON.parse(text).indexer).toEqual({ role: "starting", state: "failing", quarantinedTokens: 0, ready: true });

    const admin = await createUser(kit, "admin");
    let overview: IndexerOverview | undefined;
    await eventually("the indexer's report", async () => {
      const answer = await kit.request("/api/system/indexer", { headers: { cookie: admin.cookie } });
      overview = (await answer.json()) as IndexerOverview;
      return overview.report !== null;
    });
    expect(overview?.report).toMatchObject({ role: "starting", state: "failing" });
    expect(overview?.report?.lastError).toStartWith("HTTP request failed: HTTP 503");
    expect(JSON.stringify(overview)).not.toContain(SECRET);

    expect(lines.join("\n")).not.toContain(SECRET);
  } finally {
    await indexer.stop();
  }
});
