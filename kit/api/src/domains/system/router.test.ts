import { afterAll, describe, expect, test } from "bun:test";
import { createTestKit, startBlackHole } from "../../../test/kit";
import { freePort } from "../../dev/ports";

const kit = await createTestKit({ chain: true, env: { SYSTEM_INFO_CACHE_MS: "300" } });

describe("system.info", () => {
  test("the typed client and REST return the same facts: version, uptime, chain head, dependencies", async () => {
    const viaClient = await kit.client.system.info();
    expect(viaClient.version).toBe(kit.config.version);
    expect(viaClient.chain.id).toBe(31337);
    expect(viaClient.chain.latestBlock).toMatch(/^\d+$/);
    expect(Object.values(viaClient.dependencies).every((d) => d.up)).toBe(true);

    const response = await kit.request("/api/system/info");
    expect(response.status).toBe(200);
    const viaRest = (await response.json()) as typeof viaClient;
    expect(viaRest.chain).toEqual(viaClient.chain);
  });

  test("is served from the cache while fresh, and refreshed after", async () => {
    await Bun.sleep(350);
    const first = await kit.client.system.info();
    const second = await kit.client.system.info();
    expect(second.checkedAt).toBe(first.checkedAt);
    // A mined block shows only once the cache entry has expired.
    await fetch(kit.config.chain.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
    });
    expect((await kit.client.system.info()).chain.latestBlock).toBe(first.chain.latestBlock);
    await Bun.sleep(350);
    const refreshed = await kit.client.system.info();
    expect(refreshed.checkedAt).not.toBe(first.checkedAt);
    expect(BigInt(refreshed.chain.latestBlock ?? "0")).toBe(BigInt(first.chain.latestBlock ?? "0") + 1n);
  });

  test("concurrent calls on a cold cache compute once", async () => {
    await Bun.sleep(350);
    const answers = await Promise.all(Array.from({ length: 20 }, () => kit.client.system.info()));
    expect(new Set(answers.map((a) => a.checkedAt)).size).toBe(1);
  });
});

describe("/ready when a dependency is down", () => {
  type Ready = { status: string; failing: string[]; dependencies: Record<string, { up: boolean; error?: string }> };
  const ready = async (target: Awaited<ReturnType<typeof createTestKit>>) => {
    const response = await target.request("/ready");
    return { status: response.status, body: (await response.json()) as Ready };
  };

  test("the chain unreachable: 503 naming chain, the rest up; system.info still answers", async () => {
    const noChain = await createTestKit();
    const { status, body } = await ready(noChain);
    expect(status).toBe(503);
    expect(body.status).toBe("not_ready");
    expect(body.failing).toEqual(["chain"]);
    expect(body.dependencies.postgres?.up).toBe(true);
    const info = await noChain.client.system.info();
    expect(info.chain).toEqual({ id: null, latestBlock: null });
    expect(info.dependencies.chain.up).toBe(false);
  });

  test("Postgres and Redis unreachable: 503 naming both, with no addresses in the answer", async () => {
    const closed = await freePort();
    const broken = await createTestKit({
      chain: true,
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/kit`, REDIS_URL: `redis://127.0.0.1:${closed}` },
    });
    const { status, body } = await ready(broken);
    expect(status).toBe(503);
    expect(body.failing.sort()).toEqual(["postgres", "redis"]);
    expect(JSON.stringify(body)).not.toContain(String(closed));
  });

  test("S3 stopped: 503 naming s3", async () => {
    const noS3 = await createTestKit({ chain: true });
    await noS3.s3.stop();
    const { status, body } = await ready(noS3);
    expect(status).toBe(503);
    expect(body.failing).toEqual(["s3"]);
  });

  test("a dependency that hangs is cut off by the probe timeout", async () => {
    const hole = await startBlackHole();
    afterAll(() => hole.stop());
    const hanging = await createTestKit({ env: { RPC_URL: hole.url, READY_TIMEOUT_MS: "300" } });
    const started = performance.now();
    const { status, body } = await ready(hanging);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(status).toBe(503);
    expect(body.dependencies.chain?.error).toBe("no answer within 300 ms");
  });
});
