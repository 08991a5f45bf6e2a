// What admins see of the indexer (system.indexer): the system contract serves it, tokens/indexer-status.ts builds it.
import { z } from "zod";
import { isoDateTime } from "../../contract-fields";
import { DISCOVERY_SOURCES } from "./contract-values";

const blockNumber = z.string().regex(/^\d+$/).meta({ description: "Block number as a decimal string" });

export const indexerOverview = z.object({
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
        discoveredVia: z.enum(DISCOVERY_SOURCES),
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

export type IndexerOverview = z.infer<typeof indexerOverview>;
