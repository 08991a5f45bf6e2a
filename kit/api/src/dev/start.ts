// `bun run dev`: the whole system on one machine with no configuration (see README, Quick start).
import { ConfigError, loadConfig } from "../config";
import { createLogger } from "../infra/log";
import { describeRedis } from "../infra/redis";
import { ROLES, startKit } from "../runtime";
import { handleShutdownSignals } from "../shutdown";
import { describeDemoTokens } from "./demo-tokens";
import { ensureDemoUsers } from "./demo-users";
import { type LocalStack, LocalStackError, startLocalStack } from "./stack";

/** What is on the embedded chain: the demo tokens and where their addresses are written. */
function chainLines(chain: LocalStack["chainDeployment"]): string[] {
  if (!chain) return [];
  const { deployment, deployed, ms, path } = chain;
  const how = deployed ? `deployed now in ${(ms / 1000).toFixed(1)} s` : "from an earlier start";
  return [
    `  Tokens       ${deployment.tokens.map((t) => `${t.symbol} ${t.address}`).join(", ")}`,
    `  T-REX        factory ${deployment.trex.factory}, claim issuer ${deployment.claimIssuer.address}`,
    `  Investors    ${deployment.investors.length} verified demo wallets (anvil accounts 2–5)`,
    `  Deployment   ${path} (${how})`,
  ];
}

/** Where mail goes: the embedded server's store and the console page, or the relay given. */
function mailLines(config: LocalStack["config"]): string[] {
  const { smtpUrl, devStoreDir } = config.mail;
  if (!devStoreDir)
    return [`  Mail         ${redactCredentials(smtpUrl ?? "")} (SMTP_URL; read it in that relay's inbox)`];
  return [
    `  Mail         ${smtpUrl}, kept in ${devStoreDir} (.json and .eml)`,
    `  Outbox       ${config.auth.publicUrl}/console/outbox (admins; nothing leaves this machine)`,
  ];
}

function redactCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href;
  } catch {
    return "(unreadable SMTP_URL)";
  }
}

const started = performance.now();
try {
  const config = loadConfig();
  const log = createLogger(config);
  const stack = await startLocalStack(config, log);
  const kit = await startKit(stack.config, ROLES, log).catch(async (error) => {
    await stack.stop();
    throw error;
  });
  handleShutdownSignals(log, config.http.shutdownTimeoutMs, async () => {
    await kit.stop();
    await stack.stop();
  });
  // One address everywhere: sign-in cookies and the trusted Origin belong to the public URL.
  const api = stack.config.auth.publicUrl;
  const demoTokens = stack.chainDeployment?.deployment.tokens.map((t) => t.address) ?? [];
  const consoleLines = await ensureDemoUsers(kit.deps, stack.config.auth.publicUrl, demoTokens);
  if (stack.chainDeployment?.deployed) await describeDemoTokens(kit.deps, stack.chainDeployment.deployment);
  const lines = [
    "",
    `  Kit ${config.version} is running (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    "",
    `  API docs     ${api}/docs`,
    `  OpenAPI      ${api}/api/openapi.json (REST under ${api}/api/…)`,
    `  Typed RPC    ${api}/rpc`,
    `  Ready        ${api}/ready`,
    `  Metrics      ${api}/metrics`,
    ...consoleLines,
    "",
    `  Postgres     ${new URL(stack.config.db.url).host}${new URL(stack.config.db.url).pathname}`,
    `  Redis        ${describeRedis(stack.config)} (prefix "${stack.config.redis.keyPrefix}")`,
    `  S3           ${stack.config.s3.endpoint}`,
    `  Chain        ${stack.config.chain.rpcUrl}`,
    ...mailLines(stack.config),
    ...chainLines(stack.chainDeployment),
    "",
    stack.embedded.length > 0 ? "  Started here:" : "  Every service was given by the environment.",
    ...stack.embedded.map((line) => `    - ${line}`),
    "",
    "  Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} catch (error) {
  if (error instanceof ConfigError || error instanceof LocalStackError) {
    console.error(error.message);
  } else {
    // e.g. a migration that does not apply: say what failed, without a stack trace.
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    console.error(`Kit could not start: ${(error as Error).message.split("\n")[0]}${cause ? ` (${cause})` : ""}`);
  }
  process.exit(1);
}
