// What the indexer follows: the tokens in its table, the configured tokens (INDEXER_TOKENS) and
// factories (INDEXER_FACTORY, the deployment file's), and the tokens those factories deployed.
import type pg from "pg";
import type { ChainReader, SuiteLog } from "./chain-reader";
import { decodeLogs } from "./chain-reader";
import { configuredFactories, findDeploymentBlock, readDeploymentFactory, readTokenFacts } from "./discovery";
import type { IndexerContext } from "./indexer-context";
import { openingOf } from "./opening";
import { insertTokens, type NewToken } from "./store";

export interface TokenRow {
  address: string;
  identityRegistry: string | null;
  deploymentBlock: number;
  catchUpBlock: number | null;
  openingBlock: number | null;
  quarantined: boolean;
}

/** A token its factory announced (TREXSuiteDeployed), with its facts read at block `factsAt`. */
export async function suiteToken(
  reader: ChainReader,
  suite: SuiteLog,
  factsAt: number,
  catchUpBlock: number | null,
): Promise<NewToken> {
  return {
    address: suite.token,
    ...(await readTokenFacts(reader, suite.token, factsAt)),
    kind: "t-rex",
    identityRegistry: suite.identityRegistry,
    discoveredVia: "factory",
    deploymentBlock: suite.blockNumber,
    factory: suite.factory,
    catchUpBlock,
  };
}

/**
 * Configured tokens and factories; the deployment file is re-read when it appears or changes, and
 * a configured token missing from the table (new, or reset by an operator) is added.
 */
export async function refreshSources(ctx: IndexerContext, client: pg.Client): Promise<void> {
  const now = Date.now();
  if (now - ctx.lastSourcesCheck < 10_000) return;
  const first = ctx.lastSourcesCheck === 0;
  ctx.lastSourcesCheck = now;
  const file = ctx.deps.config.chain.deploymentFile;
  const deployed = file ? await readDeploymentFactory(file) : undefined;
  const fileChanged = first || deployed?.mtimeMs !== ctx.deploymentFileMtime;
  const known = new Set((await readTokenRows(ctx, client)).map((t) => t.address));
  const configured = ctx.deps.config.indexer.tokens.filter((t) => !known.has(t.address));
  if (!fileChanged && configured.length === 0) return;
  ctx.deploymentFileMtime = deployed?.mtimeMs;
  const head = await ctx.reader.head();
  const cp = ctx.checkpoint;
  const newTokens: NewToken[] = [];
  for (const token of configured) {
    const facts = await readTokenFacts(ctx.reader, token.address);
    const deploymentBlock = token.startBlock ?? (await findDeploymentBlock(ctx.reader, token.address, head));
    // Started after its first transfers: holders' balances there are read from the chain.
    const opening =
      token.startBlock === undefined ? null : await openingOf(ctx.reader, token.address, token.startBlock);
    newTokens.push({
      address: token.address,
      ...facts,
      discoveredVia: "config",
      deploymentBlock,
      factory: null,
      catchUpBlock: cp && cp.blockNumber >= deploymentBlock ? deploymentBlock - 1 : null,
      openingBlock: opening?.block ?? null,
      openingSupply: opening?.supply,
    });
    known.add(token.address);
  }
  if (fileChanged) newTokens.push(...(await refreshFactories(ctx, deployed, head, known)));
  if (newTokens.length > 0) {
    await insertTokens(client, ctx.chainId, newTokens);
    ctx.log.info({ tokens: newTokens.map((t) => `${t.symbol} ${t.address}`) }, "tokens added");
  }
}

/** The factories to follow; the tokens of those added behind the checkpoint (they catch up). */
async function refreshFactories(
  ctx: IndexerContext,
  deployed: Awaited<ReturnType<typeof readDeploymentFactory>>,
  head: number,
  known: Set<string>,
): Promise<NewToken[]> {
  const file = ctx.deps.config.chain.deploymentFile;
  const factories = configuredFactories(ctx.deps.config);
  if (deployed && !factories.some((f) => f.address === deployed.address)) {
    // A file left by another chain (a laptop's dev chain, a reset anvil) must not add a factory
    // that is not on this one.
    const here =
      (deployed.chainId === undefined || deployed.chainId === ctx.chainId) &&
      (await ctx.reader.code(deployed.address, head)) !== "0x";
    if (here) factories.push({ address: deployed.address, startBlock: deployed.startBlock });
    else
      ctx.log.warn({ file, factory: deployed.address }, "the deployment file's factory is not on this chain; ignored");
  }
  const added = factories.filter((f) => !ctx.factories.some((previous) => previous.address === f.address));
  ctx.factories = factories;
  const cp = ctx.checkpoint;
  const newTokens: NewToken[] = [];
  // A factory configured after the checkpoint passed its start: its earlier suites are found
  // with one scan, and their tokens catch up on their own.
  if (cp) {
    for (const factory of added) {
      if (factory.startBlock > cp.blockNumber) continue;
      const roles = new Map([[factory.address, "factory" as const]]);
      const logs = await ctx.reader.logsAdaptive([factory.address], factory.startBlock, cp.blockNumber);
      for (const suite of decodeLogs(logs, roles).suites) {
        if (known.has(suite.token)) continue;
        newTokens.push(await suiteToken(ctx.reader, suite, suite.blockNumber, suite.blockNumber - 1));
        known.add(suite.token);
      }
    }
  }
  return newTokens;
}

export async function readTokenRows(ctx: IndexerContext, client: pg.Client): Promise<TokenRow[]> {
  const { rows } = await client.query<{
    address: string;
    identity_registry: string | null;
    deployment_block: string;
    catch_up_block: string | null;
    opening_block: string | null;
    quarantined: boolean;
  }>(
    `select address, identity_registry, deployment_block, catch_up_block, opening_block,
       quarantined_at is not null as quarantined
     from tokens where chain_id = $1`,
    [ctx.chainId],
  );
  return rows.map((r) => ({
    address: r.address,
    identityRegistry: r.identity_registry,
    deploymentBlock: Number(r.deployment_block),
    catchUpBlock: r.catch_up_block === null ? null : Number(r.catch_up_block),
    openingBlock: r.opening_block === null ? null : Number(r.opening_block),
    quarantined: r.quarantined,
  }));
}
