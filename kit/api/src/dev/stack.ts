// The local stack behind `bun run dev`: use every service whose URL is configured, start the rest.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Deployment, ensureDeployment } from "@kit/contracts";
import { Redis } from "ioredis";
import type { Config, ResolvedConfig } from "../config";
import { chainAccounts, demoInvestors } from "../infra/chain-accounts";
import type { Logger } from "../infra/log";
import { describeRedis } from "../infra/redis";
import { startLocalAnvil } from "./anvil";
import { isPortFree } from "./ports";
import { ensureDatabaseExists, forgetIndexedChain } from "./postgres";
import { startLocalS3 } from "./s3";
import { startLocalSmtp } from "./smtp";

/** s3rver's port in development: stable, so presigned URLs in a browser tab stay valid across restarts. */
const DEV_S3_PORT = 9000;
/** The embedded SMTP server's port in development (Mailpit's too, so a mail client set up once keeps working). */
const DEV_SMTP_PORT = 1025;

export interface LocalStack {
  config: ResolvedConfig;
  /** What this process started itself, for the banner. */
  embedded: string[];
  /** Kit's token suite on the embedded anvil: deployed at this start, or found from an earlier one. */
  chainDeployment?: { deployment: Deployment; deployed: boolean; ms: number; path: string };
  stop(): Promise<void>;
}

export class LocalStackError extends Error {}

export async function startLocalStack(config: Config, log: Logger): Promise<LocalStack> {
  await checkPostgres(config);
  await checkRedis(config);

  const embedded: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => log.warn({ err }, "local service did not stop cleanly"));
  };

  try {
    let s3Endpoint = config.s3.endpoint;
    if (!s3Endpoint) {
      const directory = join(config.dataDir, "s3");
      await mkdir(directory, { recursive: true });
      const port = (await isPortFree(DEV_S3_PORT)) ? DEV_S3_PORT : 0;
      const s3 = await startLocalS3({ directory, port, keepData: true });
      stops.push(s3.stop);
      s3Endpoint = s3.endpoint;
      embedded.push(`S3 (s3rver) ${s3.endpoint}, data in ${directory}`);
    }

    let rpcUrl = config.chain.rpcUrl;
    let chainDeployment: LocalStack["chainDeployment"];
    if (!rpcUrl) {
      if (!(await isPortFree(config.chain.anvilPort))) {
        throw new LocalStackError(
          `port ${config.chain.anvilPort} is taken, so anvil cannot start there: stop what uses it, or set ANVIL_PORT to a free port (or RPC_URL to an existing node)`,
        );
      }
      const directory = join(config.dataDir, "anvil");
      await mkdir(directory, { recursive: true });
      const anvil = await startLocalAnvil({
        port: config.chain.anvilPort,
        stateFile: join(directory, "state.json"),
        chainId: config.chain.id,
      });
      stops.push(anvil.stop);
      rpcUrl = anvil.rpcUrl;
      embedded.push(`chain (anvil) ${anvil.rpcUrl}, state in ${directory}`);
      // The demo needs live tokens: deploy them on a new (or lost) chain; ~0.5 s.
      const { agent, claimSigner } = chainAccounts(config, true);
      const path = config.chain.deploymentFile;
      const ensured = await ensureDeployment({
        rpcUrl,
        path,
        deployer: agent,
        claimSigner,
        investors: demoInvestors(),
      });
      chainDeployment = { ...ensured, path };
      if (ensured.deployed) {
        embedded.push(`ERC-3643 token suite deployed on anvil, addresses in ${path}`);
        // A new chain: what the database indexed from an earlier one is about blocks that are gone.
        const removed = await forgetIndexedChain(config.db.directUrl, config.chain.id);
        if (removed > 0) embedded.push(`index of the previous dev chain cleared (${removed} rows)`);
      }
    }

    const mail = await startMail(config, stops, embedded);

    return {
      config: { ...config, s3: { ...config.s3, endpoint: s3Endpoint }, chain: { ...config.chain, rpcUrl }, mail },
      embedded,
      chainDeployment,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** An SMTP_URL is used as given; without one, an SMTP server here keeps every message under <DATA_DIR>/mail. */
async function startMail(
  config: Config,
  stops: Array<() => Promise<void>>,
  embedded: string[],
): Promise<Config["mail"]> {
  if (config.mail.smtpUrl) return config.mail;
  const directory = join(config.dataDir, "mail");
  const port = (await isPortFree(DEV_SMTP_PORT)) ? DEV_SMTP_PORT : 0;
  // Taken between the check and the bind (another dev stack starting): any free port will do.
  const smtp = await startLocalSmtp({ directory, port }).catch(() => startLocalSmtp({ directory, port: 0 }));
  stops.push(smtp.stop);
  embedded.push(`mail (SMTP) ${smtp.url}, messages in ${directory}`);
  return { ...config.mail, smtpUrl: smtp.url, devStoreDir: directory };
}

async function checkPostgres(config: Config): Promise<void> {
  try {
    await ensureDatabaseExists(config.db.directUrl);
  } catch (error) {
    const where = new URL(config.db.url).host;
    throw new LocalStackError(
      `PostgreSQL is not reachable at ${where} (${(error as Error).message}). Start it (on Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set DATABASE_URL.`,
    );
  }
}

async function checkRedis(config: Config): Promise<void> {
  // A Cluster or Sentinels were given on purpose: the server's own start reports if they do not answer.
  if (config.redis.cluster || config.redis.sentinel) return;
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    throw new LocalStackError(
      `Redis is not reachable at ${describeRedis(config)}. Start it (redis-server --daemonize yes --port 6379) or set REDIS_URL.`,
    );
  } finally {
    redis.disconnect();
  }
}
