// `bun run dev` only: the demo tokens' metadata documents, as tokens.create writes them (kind, ISIN,
// terms), written when the demo suite was just deployed (a new chain; the object store may keep an
// older document at the same address, which is replaced).
import { DEMO_TOKENS, type Deployment } from "@kit/contracts";
import type { Deps } from "../deps";
import { ASSET_CLASSES } from "../domains/tokens/contract-metadata";
import { writeCreationMetadata } from "../domains/tokens/metadata";

export async function describeDemoTokens(
  deps: Pick<Deps, "config" | "db" | "storage" | "chain" | "log" | "redis">,
  deployment: Deployment,
): Promise<void> {
  for (const token of deployment.tokens) {
    const spec = DEMO_TOKENS.find((demo) => demo.symbol === token.symbol);
    const assetClass = ASSET_CLASSES.find((c) => c === spec?.kind);
    if (!spec?.isin || !spec.terms || !assetClass) continue;
    const { isin, terms } = spec;
    await deps.db.transaction((tx) =>
      writeCreationMetadata(deps, tx, null, token.address, {
        description: `${spec.name}: a demo ${spec.kind} of \`bun run dev\``,
        assetClass,
        isin,
        terms,
      }),
    );
  }
}
