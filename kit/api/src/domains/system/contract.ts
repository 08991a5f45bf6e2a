import { z } from "zod";
import { base } from "../../rpc/base";

const dependencyName = z.enum(["postgres", "redis", "s3", "chain"]);

const dependencyStatus = z.object({
  up: z.boolean(),
  latencyMs: z.number().nonnegative().meta({ description: "Round-trip time of the probe" }),
  error: z.string().optional().meta({ description: "Why the probe failed (no internals)" }),
});

const systemInfo = z.object({
  version: z.string(),
  uptimeSeconds: z.number().nonnegative(),
  chain: z.object({
    id: z.number().int().nullable(),
    latestBlock: z
      .string()
      .regex(/^\d+$/)
      .nullable()
      .meta({ description: "Block number as a decimal string (exact beyond 2^53)" }),
  }),
  dependencies: z.record(dependencyName, dependencyStatus),
  checkedAt: z.iso.datetime({ offset: true }),
});

const blockNumber = z.string().regex(/^\d+$/).meta({ description: "Block number as a decimal string" });
const isoDateTime = z.iso.datetime({ offset: true });

const indexerOverview = z.object({
  chainId: z.number().int(),
  checkpoint: z
    .object({ block: blockNumber, hash: z.string(), updatedAt: isoDateTime })
    .nullable()
    .meta({ description: "Every block up to this one is indexed (null: nothing indexed yet)" }),
  report: z
    .object({
      role: z.enum(["starting", "standby", "active", "stopped"]),
      state: z.enum(["starting", "standby", "ok", "behind", "failing", "stopped"]),
      head: blockNumber.nullable(),
      indexedBlock: blockNumber.nullable(),
      lagBlocks: z.number().int().nullable(),
      eventsPerSecond: z.number().nullable(),
      lastError: z
        .string()
        .nullable()
        .meta({ description: "The last failure, redacted: no node URL, API key or request body" }),
      lastErrorAt: isoDateTime.nullable(),
      reportedAt: isoDateTime,
    })
    .nullable()
    .meta({ description: "The last report of the indexer process that reported last (null: none in a minute)" }),
  tokens: z.object({
    total: z.number().int(),
    following: z.number().int(),
    catchingUp: z.number().int(),
    quarantined: z.number().int(),
  }),
  attention: z
    .array(
      z.object({
        address: z.string(),
        name: z.string(),
        symbol: z.string(),
        discoveredVia: z.enum(["factory", "config"]),
        state: z.enum(["catching_up", "quarantined"]),
        indexedBlock: blockNumber.nullable().meta({ description: "The last block the token is complete to" }),
        openingBlock: blockNumber
          .nullable()
          .meta({ description: "Indexed from mid-history: balances at this block were read from the chain" }),
        quarantinedAt: isoDateTime.nullable(),
        reason: z.string().nullable().meta({ description: "Why it was quarantined" }),
      }),
    )
    .meta({
      description:
        "Tokens quarantined (left out of indexing until `bun run kit indexer:reset --token`) or catching up; at most 200",
    }),
});

export type SystemInfo = z.infer<typeof systemInfo>;
export type IndexerOverview = z.infer<typeof indexerOverview>;
export type DependencyStatus = z.infer<typeof dependencyStatus>;
export type DependencyName = z.infer<typeof dependencyName>;

export const systemContract = {
  info: base
    .route({
      method: "GET",
      path: "/system/info",
      tags: ["system"],
      summary: "Version, uptime, chain head and the state of each dependency",
      description: "Cached for a short time (SYSTEM_INFO_CACHE_MS) so that it is cheap to poll.",
    })
    .meta({ access: "public" })
    .output(systemInfo),
  indexer: base
    .route({
      method: "GET",
      path: "/system/indexer",
      tags: ["system"],
      summary: "The chain indexer in detail: state, last error, quarantined tokens (admin)",
      description:
        "What the public /ready leaves out: the last error (redacted) and the tokens that need attention, with why.",
    })
    .meta({ access: "user", permission: { settings: ["manage_system"] }, keyGrant: { settings: ["read_system"] } })
    .output(indexerOverview),
};
