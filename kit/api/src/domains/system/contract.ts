import { z } from "zod";
import { isoDateTime } from "../../contract-fields";
import { base } from "../../rpc/base";
import { indexerOverview } from "../tokens/contract-indexer";

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
  checkedAt: isoDateTime,
});

export type SystemInfo = z.infer<typeof systemInfo>;
/** What the cache holds: all but the uptime, which each answer computes. */
export type CachedSystemInfo = Omit<SystemInfo, "uptimeSeconds">;
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
