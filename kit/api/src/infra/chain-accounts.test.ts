import { describe, expect, test } from "bun:test";
import { anvilAccount } from "@kit/contracts";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ConfigError, loadConfig } from "../config";
import { chainAccounts } from "./chain-accounts";

describe("chainAccounts", () => {
  test("on anvil, unset keys are anvil's dev accounts 0 and 1", () => {
    const config = loadConfig({ NODE_ENV: "test" });
    const { agent, claimSigner } = chainAccounts(config, true);
    expect(agent.address).toBe(anvilAccount(0).address);
    expect(claimSigner.address).toBe(anvilAccount(1).address);
  });

  test("elsewhere both keys are required, and the error names them without values", () => {
    const key = generatePrivateKey();
    const config = loadConfig({ NODE_ENV: "test", CHAIN_AGENT_PRIVATE_KEY: key });
    const error = (() => {
      try {
        chainAccounts(config, false);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "CLAIM_SIGNER_PRIVATE_KEY: must be set on a chain other than anvil (anvil's dev keys are used only there)",
    ]);
    expect((error as Error).message).not.toContain(key.slice(2));
  });

  test("configured keys win everywhere", () => {
    const [agentKey, signerKey] = [generatePrivateKey(), generatePrivateKey()];
    const config = loadConfig({
      NODE_ENV: "test",
      CHAIN_AGENT_PRIVATE_KEY: agentKey,
      CLAIM_SIGNER_PRIVATE_KEY: signerKey,
    });
    for (const onAnvil of [true, false]) {
      const { agent, claimSigner } = chainAccounts(config, onAnvil);
      expect(agent.address).toBe(privateKeyToAccount(agentKey).address);
      expect(claimSigner.address).toBe(privateKeyToAccount(signerKey).address);
    }
  });

  test("a malformed key is a ConfigError that does not echo it", () => {
    const bad = `0x${"zz".repeat(32)}`;
    expect(() => loadConfig({ CLAIM_SIGNER_PRIVATE_KEY: bad })).toThrow(
      "CLAIM_SIGNER_PRIVATE_KEY: expected a private key: 0x and 64 hex digits",
    );
  });

  test("the deployment file defaults to <DATA_DIR>/chain/deployment-<CHAIN_ID>.json", () => {
    expect(loadConfig({ DATA_DIR: "/srv/kit", CHAIN_ID: "11155111" }).chain.deploymentFile).toBe(
      "/srv/kit/chain/deployment-11155111.json",
    );
    expect(loadConfig({ CHAIN_DEPLOYMENT_FILE: "/etc/kit/chain.json" }).chain.deploymentFile).toBe(
      "/etc/kit/chain.json",
    );
  });
});
