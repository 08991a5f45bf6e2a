// `bun run dev`'s demo tokens carry the metadata tokens.create writes: kind, ISIN and fixed terms.
import { expect, test } from "bun:test";
import { DEMO_TOKENS, type Deployment, type TokenDeployment } from "@kit/contracts";
import { createTestKit } from "../../test/kit";
import { getTokenMetadata } from "../domains/tokens/metadata";
import { describeDemoTokens } from "./demo-tokens";

const kit = await createTestKit();

test("each demo token's document holds its kind, ISIN and terms", async () => {
  const tokens = DEMO_TOKENS.map(
    (spec, i) => ({ ...spec, address: `0x00000000000000000000000000000000000000${i}a` }) as unknown as TokenDeployment,
  );
  await describeDemoTokens(kit.deps, { tokens } as Deployment);
  for (const [i, spec] of DEMO_TOKENS.entries()) {
    const document = await getTokenMetadata(kit.deps, tokens[i]?.address as string);
    expect(document).toMatchObject({ assetClass: spec.kind, isin: spec.isin, terms: spec.terms });
  }
});
