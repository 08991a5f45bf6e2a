import { afterAll, expect, test } from "bun:test";
import pg from "pg";
import { createEmptyDatabase, createTestDatabase, dropDatabase, ensureTemplateDatabase } from "../../test/databases";
import { forgetIndexedChain } from "./postgres";

const migrated = await createTestDatabase(await ensureTemplateDatabase());
const empty = await createEmptyDatabase();
afterAll(async () => {
  await dropDatabase(migrated.name);
  await dropDatabase(empty.name);
});

const HASH = `0x${"ab".repeat(32)}`;

async function counts(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ chain_id: number; tokens: string; checkpoints: string }>(
      `select c.chain_id, (select count(*) from tokens t where t.chain_id = c.chain_id) as tokens,
              (select count(*) from indexer_checkpoints k where k.chain_id = c.chain_id) as checkpoints
       from (values (31337), (1)) as c(chain_id) order by c.chain_id`,
    );
    return Object.fromEntries(
      rows.map((r) => [r.chain_id, { tokens: Number(r.tokens), checkpoints: Number(r.checkpoints) }]),
    );
  } finally {
    await client.end();
  }
}

test("a new dev chain forgets the index of the old one, and only of that chain id", async () => {
  const client = new pg.Client({ connectionString: migrated.url });
  await client.connect();
  try {
    for (const [chainId, address] of [
      [31337, `0x${"11".repeat(20)}`],
      [1, `0x${"22".repeat(20)}`],
    ] as const) {
      await client.query(
        `insert into tokens (chain_id, address, name, symbol, decimals, kind, discovered_via, deployment_block)
         values ($1, $2, 'T', 'T', 18, 'erc20', 'config', 1)`,
        [chainId, address],
      );
      await client.query("insert into indexer_checkpoints (chain_id, block_number, block_hash) values ($1, 41, $2)", [
        chainId,
        HASH,
      ]);
    }
  } finally {
    await client.end();
  }
  expect(await counts(migrated.url)).toEqual({
    1: { tokens: 1, checkpoints: 1 },
    31337: { tokens: 1, checkpoints: 1 },
  });
  expect(await forgetIndexedChain(migrated.url, 31337)).toBe(2);
  expect(await counts(migrated.url)).toEqual({
    1: { tokens: 1, checkpoints: 1 },
    31337: { tokens: 0, checkpoints: 0 },
  });
});

test("before the first migration there is nothing to forget", async () => {
  expect(await forgetIndexedChain(empty.url, 31337)).toBe(0);
});
