// A real Redis Cluster of the test file's own: three masters and three replicas, each a redis-server
// started from the machine's binary on free local ports in a temp folder, joined by
// `redis-cli --cluster create`. And a Sentinel set-up: one primary, one replica, three sentinels.
// Both fail over on request (CLUSTER FAILOVER, SENTINEL FAILOVER, or a killed master).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../src/dev/ports";

/** Null when the machine has no redis-server or redis-cli (the tests then say so and skip). */
export function redisBinariesMissing(): string | null {
  const missing = ["redis-server", "redis-cli"].filter((name) => !Bun.which(name));
  return missing.length > 0
    ? `${missing.join(" and ")} not found on PATH (apt-get install redis-server redis-tools)`
    : null;
}

interface Node {
  port: number;
  process: Subprocess | undefined;
}

function cli(port: number, ...args: string[]): string {
  return Bun.spawnSync(["redis-cli", "-p", String(port), ...args])
    .stdout.toString()
    .trim();
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`redis test set-up: ${what} did not happen within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

function spawnServer(dir: string, port: number, extra: string[]): Subprocess {
  return Bun.spawn(
    [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      ...extra,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
}

async function stopAll(processes: Array<Subprocess | undefined>): Promise<void> {
  for (const p of processes) {
    p?.kill("SIGCONT");
    p?.kill("SIGKILL");
  }
  await Promise.all(processes.map((p) => p?.exited));
}

/** One line of CLUSTER NODES: id, port, flags, the master's id (for a replica). */
interface ClusterNodeLine {
  id: string;
  port: number;
  role: "master" | "replica";
  masterId: string | null;
  failed: boolean;
  /** Slot ranges served (masters): [first, last]. */
  slots: Array<[number, number]>;
}

function clusterNodes(port: number): ClusterNodeLine[] {
  return cli(port, "cluster", "nodes")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-", , , , , ...ranges] = line.split(" ");
      return {
        id,
        port: Number(address.split("@")[0]?.split(":").at(-1)),
        role: flags.includes("master") ? "master" : "replica",
        masterId: master === "-" ? null : master,
        failed: flags.includes("fail") && !flags.includes("pfail"),
        slots: ranges
          .filter((range) => /^\d+(-\d+)?$/.test(range))
          .map((range) => {
            const [first, last = first] = range.split("-").map(Number) as [number, number?];
            return [first, last] as [number, number];
          }),
      };
    });
}

export interface LocalRedisCluster {
  /** `127.0.0.1:p1,…`: REDIS_CLUSTER_NODES. */
  seeds: string;
  /** The ports of the nodes running now that are masters (as a live node sees it). */
  masters(): number[];
  /** The port of the master serving `key` (a full name, prefix included). */
  masterOf(key: string): number;
  /** The port of the replica of the master on `port`. */
  replicaOf(port: number): number;
  /** CLUSTER FAILOVER on the replica of the master on `port` (a manual failover, no write lost); resolves once every live node agrees. */
  failover(port: number): Promise<number>;
  /** SIGKILL of the master on `port`; resolves once its replica has taken over (the cluster's own failure detection). */
  kill(port: number): Promise<number>;
  /** The ports of the running nodes with a client connection named `name` (CLIENT LIST). */
  nodesWithClient(name: string): number[];
  /** Whether the master on `port` has a replica that is up. */
  hasReplica(port: number): boolean;
  /** Closes the connections named `name` on the node on `port` (CLIENT KILL ID). */
  killClient(port: number, name: string): void;
  /** SIGKILL of the node on `port`, a replica or a master, waiting for nothing. */
  stop(port: number): Promise<void>;
  /** SIGSTOP of the node on `port` (connections stay open, nothing is answered); `resume` sends SIGCONT. */
  pause(port: number): void;
  resume(port: number): void;
  /** Runs a redis-cli command against the node on `port`. */
  cli(port: number, ...args: string[]): string;
  /** Kills every node and deletes the folder. */
  remove(): Promise<void>;
}

/**
 * Started and agreed (every slot served, every replica in sync) before it is returned; ~5-7 s.
 * `cluster-node-timeout` is 1 s so that a killed master is replaced within a few seconds.
 */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "kit-redis-cluster-"));
  const nodes: Node[] = [];
  for (let i = 0; i < 6; i++) nodes.push({ port: await freePort(), process: undefined });
  // The bus ports are given too: the default (port + 10000) may be taken, or past 65535.
  const busPorts: number[] = [];
  for (let i = 0; i < 6; i++) busPorts.push(await freePort());
  const remove = async () => {
    await stopAll(nodes.map((n) => n.process));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    nodes.forEach((node, i) => {
      node.process = spawnServer(dir, node.port, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${node.port}.conf`,
        "--cluster-port",
        String(busPorts[i]),
        "--cluster-node-timeout",
        "1000",
        // A replica may take over however long it was cut from its master (the test kills masters).
        "--cluster-replica-validity-factor",
        "0",
        // The masters that are up keep serving their slots while another one is replaced.
        "--cluster-require-full-coverage",
        "no",
      ]);
    });
    for (const node of nodes)
      await waitFor(`redis-server on ${node.port}`, () => cli(node.port, "ping") === "PONG", 5_000);
    const created = Bun.spawnSync([
      "redis-cli",
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    if (created.exitCode !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout.toString()}`);
    await waitFor(
      "the cluster agreeing",
      () =>
        nodes.every((n) => {
          const info = cli(n.port, "cluster", "info");
          return info.includes("cluster_state:ok") && info.includes("cluster_known_nodes:6");
        }),
      15_000,
    );
    await waitFor(
      "every replica in sync",
      () =>
        nodes.every(
          (n) =>
            !cli(n.port, "info", "replication").includes("role:slave") ||
            cli(n.port, "info", "replication").includes("master_link_status:up"),
        ),
      15_000,
    );
  } catch (error) {
    await remove();
    throw error;
  }

  const live = () => nodes.filter((n) => n.process && n.process.exitCode === null && n.process.signalCode === null);
  const view = () => clusterNodes((live()[0] as Node).port);
  const portOf = (id: string) => view().find((line) => line.id === id)?.port;
  const replicaOf = (port: number) => {
    const lines = view();
    const master = lines.find((line) => line.port === port);
    const replica = lines.find((line) => line.masterId === master?.id && !line.failed);
    if (!replica) throw new Error(`no replica of ${port}`);
    return replica.port;
  };
  const agreed = (newMaster: number) =>
    live().every((n) => {
      const lines = clusterNodes(n.port);
      return (
        lines.find((line) => line.port === newMaster)?.role === "master" &&
        cli(n.port, "cluster", "info").includes("cluster_state:ok")
      );
    });

  return {
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(","),
    masters: () =>
      view()
        .filter((line) => line.role === "master" && !line.failed && live().some((n) => n.port === line.port))
        .map((line) => line.port),
    replicaOf,
    masterOf(key) {
      const slot = Number(cli((live()[0] as Node).port, "cluster", "keyslot", key));
      const master = view().find(
        (line) =>
          line.role === "master" && !line.failed && line.slots.some(([first, last]) => slot >= first && slot <= last),
      );
      if (!master) throw new Error(`no master serves slot ${slot}`);
      return master.port;
    },
    async failover(port) {
      const replica = replicaOf(port);
      const answer = cli(replica, "cluster", "failover");
      if (answer !== "OK") throw new Error(`CLUSTER FAILOVER on ${replica}: ${answer}`);
      await waitFor(`${replica} taking over from ${port}`, () => agreed(replica), 10_000);
      // The old master follows the new one once it has learnt of it.
      await waitFor(
        `${port} following ${replica}`,
        () => portOf(clusterNodes(port).find((l) => l.port === port)?.masterId ?? "") === replica,
        10_000,
      );
      return replica;
    },
    async kill(port) {
      const replica = replicaOf(port);
      const node = nodes.find((n) => n.port === port);
      node?.process?.kill("SIGKILL");
      await node?.process?.exited;
      await waitFor(`${replica} replacing the killed ${port}`, () => agreed(replica), 15_000);
      return replica;
    },
    nodesWithClient: (name) =>
      live()
        .filter((n) => cli(n.port, "client", "list").includes(` name=${name} `))
        .map((n) => n.port),
    hasReplica(port) {
      try {
        return live().some((n) => n.port === replicaOf(port));
      } catch {
        return false;
      }
    },
    killClient(port, name) {
      for (const line of cli(port, "client", "list").split("\n")) {
        const id = line.includes(` name=${name} `) ? /^id=(\d+)/.exec(line)?.[1] : undefined;
        if (id) cli(port, "client", "kill", "id", id);
      }
    },
    async stop(port) {
      const node = nodes.find((n) => n.port === port);
      node?.process?.kill("SIGKILL");
      await node?.process?.exited;
    },
    pause: (port) => nodes.find((n) => n.port === port)?.process?.kill("SIGSTOP"),
    resume: (port) => nodes.find((n) => n.port === port)?.process?.kill("SIGCONT"),
    cli,
    remove,
  };
}

export interface LocalSentinels {
  /** `127.0.0.1:p1,…`: REDIS_SENTINELS. */
  sentinels: string;
  /** REDIS_SENTINEL_NAME. */
  name: string;
  /** The port of the server the sentinels name as primary now. */
  primary(): number;
  /** SENTINEL FAILOVER; resolves once every sentinel names the other server and it accepts writes. */
  failover(): Promise<number>;
  cli(port: number, ...args: string[]): string;
  remove(): Promise<void>;
}

/** A primary, its replica and three sentinels (quorum 2), each on a free local port; ~5 s (the sentinels learn of the replica from the primary). */
export async function startRedisSentinels(): Promise<LocalSentinels> {
  const dir = await mkdtemp(join(tmpdir(), "kit-redis-sentinel-"));
  const name = "kitmaster";
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const processes: Subprocess[] = [];
  const remove = async () => {
    await stopAll(processes);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    processes.push(spawnServer(dir, primaryPort, []));
    processes.push(spawnServer(dir, replicaPort, ["--replicaof", "127.0.0.1", String(primaryPort)]));
    for (const port of [primaryPort, replicaPort])
      await waitFor(`redis-server on ${port}`, () => cli(port, "ping") === "PONG", 5_000);
    await waitFor(
      "the replica in sync",
      () => cli(replicaPort, "info", "replication").includes("master_link_status:up"),
      10_000,
    );
    for (const port of sentinelPorts) {
      // A sentinel rewrites its configuration file: one each.
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      processes.push(Bun.spawn(["redis-server", file, "--sentinel"], { stdout: "ignore", stderr: "ignore" }));
    }
    for (const port of sentinelPorts) {
      await waitFor(
        `sentinel on ${port} seeing the replica`,
        () => cli(port, "sentinel", "replicas", name).includes(String(replicaPort)),
        10_000,
      );
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const primary = () =>
    Number(cli(sentinelPorts[0] as number, "sentinel", "get-master-addr-by-name", name).split("\n")[1]);
  return {
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(","),
    name,
    primary,
    async failover() {
      const before = primary();
      const answer = cli(sentinelPorts[0] as number, "sentinel", "failover", name);
      if (answer !== "OK") throw new Error(`SENTINEL FAILOVER: ${answer}`);
      const after = before === primaryPort ? replicaPort : primaryPort;
      await waitFor(
        "every sentinel naming the new primary",
        () =>
          sentinelPorts.every(
            (port) => Number(cli(port, "sentinel", "get-master-addr-by-name", name).split("\n")[1]) === after,
          ) && cli(after, "info", "replication").includes("role:master"),
        15_000,
      );
      return after;
    },
    cli,
    remove,
  };
}
