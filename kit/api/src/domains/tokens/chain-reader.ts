// What the indexer reads from the node: logs in adaptive block ranges, block headers, token facts.
// Raw JSON-RPC (no ABI decoding on the hot path): a log's topics and data are sliced by hand.
import {
  BaseError,
  createPublicClient,
  http,
  keccak256,
  type PublicClient,
  RpcRequestError,
  toHex,
  webSocket,
} from "viem";
import type { StateEventKind } from "./schema";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
export const ZERO_HASH = `0x${"0".repeat(64)}`;

const topic = (signature: string) => keccak256(toHex(signature));
const TOPICS = {
  transfer: topic("Transfer(address,address,uint256)"),
  paused: topic("Paused(address)"),
  unpaused: topic("Unpaused(address)"),
  addressFrozen: topic("AddressFrozen(address,bool,address)"),
  tokensFrozen: topic("TokensFrozen(address,uint256)"),
  tokensUnfrozen: topic("TokensUnfrozen(address,uint256)"),
  identityRegistered: topic("IdentityRegistered(address,address)"),
  identityRemoved: topic("IdentityRemoved(address,address)"),
  suiteDeployed: topic("TREXSuiteDeployed(address,address,address,address,address,address,string)"),
} as const;
const ALL_TOPICS = Object.values(TOPICS);

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  /** Not every node sends it (anvil and recent geth/reth do). */
  blockTimestamp?: string;
  removed?: boolean;
}

export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  /** Unix seconds. */
  timestamp: number;
}

interface LogPosition {
  txHash: string;
  logIndex: number;
  blockNumber: number;
  blockHash: string;
}

export interface TransferLog extends LogPosition {
  token: string;
  from: string;
  to: string;
  amount: string;
  /** Unix seconds; null until known (see Indexer.fillBlockTimes). */
  blockTime: number | null;
}

export interface StateLog extends LogPosition {
  contract: string;
  kind: StateEventKind;
  subject: string | null;
  value: string | null;
  /** Unix seconds; null until known (see Indexer.fillBlockTimes). */
  blockTime: number | null;
}

export interface SuiteLog extends LogPosition {
  factory: string;
  token: string;
  identityRegistry: string;
}

export interface DecodedLogs {
  transfers: TransferLog[];
  states: StateLog[];
  suites: SuiteLog[];
}

const wordAddress = (word: string | undefined) => (word ? `0x${word.slice(-40)}`.toLowerCase() : ZERO_ADDRESS);
const dataWord = (data: string, i: number) => data.slice(2 + i * 64, 2 + (i + 1) * 64);
const uint = (hex: string) => BigInt(`0x${hex || "0"}`).toString();

/**
 * Sorts logs into what the tables need. `roles` says what each address is to us: a token's
 * events, an identity registry's, a factory's (anything else, or a log of another shape such as an
 * ERC-721 Transfer, is ignored).
 */
export function decodeLogs(logs: RawLog[], roles: Map<string, "token" | "registry" | "factory">): DecodedLogs {
  const out: DecodedLogs = { transfers: [], states: [], suites: [] };
  for (const log of logs) {
    if (log.removed) continue;
    const address = log.address.toLowerCase();
    const role = roles.get(address);
    if (!role) continue;
    const [t0, t1, t2, t3] = log.topics;
    const position: LogPosition = {
      txHash: log.transactionHash.toLowerCase(),
      logIndex: Number(log.logIndex),
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash.toLowerCase(),
    };
    const state = (kind: StateEventKind, subject: string | null, value: string | null) =>
      out.states.push({
        ...position,
        contract: address,
        kind,
        subject,
        value,
        blockTime: log.blockTimestamp ? Number(log.blockTimestamp) : null,
      });
    if (role === "token") {
      if (t0 === TOPICS.transfer) {
        if (log.topics.length !== 3 || log.data.length < 66) continue;
        out.transfers.push({
          ...position,
          token: address,
          from: wordAddress(t1),
          to: wordAddress(t2),
          amount: uint(dataWord(log.data, 0)),
          blockTime: log.blockTimestamp ? Number(log.blockTimestamp) : null,
        });
      } else if (t0 === TOPICS.paused) state("paused", null, null);
      else if (t0 === TOPICS.unpaused) state("unpaused", null, null);
      else if (t0 === TOPICS.addressFrozen && t2)
        state(BigInt(t2) === 0n ? "address_unfrozen" : "address_frozen", wordAddress(t1), null);
      else if (t0 === TOPICS.tokensFrozen) state("tokens_frozen", wordAddress(t1), uint(dataWord(log.data, 0)));
      else if (t0 === TOPICS.tokensUnfrozen) state("tokens_unfrozen", wordAddress(t1), uint(dataWord(log.data, 0)));
    } else if (role === "registry") {
      if (t0 === TOPICS.identityRegistered) state("identity_registered", wordAddress(t1), wordAddress(t2));
      else if (t0 === TOPICS.identityRemoved) state("identity_removed", wordAddress(t1), wordAddress(t2));
    } else if (t0 === TOPICS.suiteDeployed && t1) {
      out.suites.push({
        ...position,
        factory: address,
        token: wordAddress(t1),
        identityRegistry: wordAddress(dataWord(log.data, 0)),
      });
    }
    void t3;
  }
  return out;
}

/** eth_getLogs refused for its size or range (each node words it its own way), or the body too big. */
function looksLikeRangeError(error: unknown): boolean {
  const text = `${(error as { message?: string })?.message ?? ""} ${(error as { details?: string })?.details ?? ""}`;
  return /range|too many|too large|limit|exceed|size|more than|response|10000|timeout|timed out/i.test(text);
}

/**
 * Block ranges that adapt to the node: halve on a refusal (or a slow or huge answer), double while
 * answers are small and quick, never past `max`.
 */
export class RangeSizer {
  size: number;
  constructor(
    private readonly max: number,
    initial = Math.min(max, 10),
  ) {
    this.size = Math.max(1, initial);
  }
  shrink(): void {
    this.size = Math.max(1, Math.floor(this.size / 2));
  }
  observe(logs: number, ms: number): void {
    if (logs > 20_000 || ms > 4_000) this.shrink();
    else if (logs < 5_000 && ms < 1_000) this.size = Math.min(this.max, this.size * 2);
  }
}

export class ChainReader {
  readonly client: PublicClient;

  constructor(rpcUrl: string) {
    const transport = rpcUrl.startsWith("ws")
      ? webSocket(rpcUrl, { timeout: 30_000, retryCount: 0 })
      : // Batched: the headers of a range go out as one HTTP request.
        // A page of logs may be large (≈ 600 bytes a log); the sizer keeps pages near 10,000 logs.
        http(rpcUrl, {
          timeout: 30_000,
          retryCount: 0,
          batch: { batchSize: 200, wait: 0 },
          maxResponseBodySize: 128 * 1024 * 1024,
        });
    this.client = createPublicClient({ transport, pollingInterval: 250, cacheTime: 0 });
  }

  async chainId(): Promise<number> {
    return Number(await this.client.request({ method: "eth_chainId" }));
  }

  async head(): Promise<number> {
    return Number(await this.client.request({ method: "eth_blockNumber" }));
  }

  async header(number: number): Promise<BlockHeader | undefined> {
    const block = (await this.client.request({
      method: "eth_getBlockByNumber",
      params: [toHex(number), false],
    })) as { number: string; hash: string; parentHash: string; timestamp: string } | null;
    if (!block) return undefined;
    return {
      number: Number(block.number),
      hash: block.hash.toLowerCase(),
      parentHash: block.parentHash.toLowerCase(),
      timestamp: Number(block.timestamp),
    };
  }

  /** Headers of `numbers` (missing ones — past the head — are left out). */
  async headers(numbers: number[]): Promise<Map<number, BlockHeader>> {
    const out = new Map<number, BlockHeader>();
    for (let i = 0; i < numbers.length; i += 200) {
      const part = await Promise.all(numbers.slice(i, i + 200).map((n) => this.header(n)));
      for (const header of part) if (header) out.set(header.number, header);
    }
    return out;
  }

  /**
   * The logs of `addresses` in [from, to] with the topics the indexer reads. Throws a RangeError
   * when the node refuses the range for its size, so that the caller can split it.
   */
  async logs(addresses: string[], from: number, to: number): Promise<RawLog[]> {
    if (addresses.length === 0) return [];
    try {
      return (await this.client.request({
        method: "eth_getLogs",
        params: [
          { address: addresses as `0x${string}`[], topics: [ALL_TOPICS], fromBlock: toHex(from), toBlock: toHex(to) },
        ],
      })) as unknown as RawLog[];
    } catch (error) {
      if (to > from && looksLikeRangeError(error)) throw new LogRangeError(from, to, error);
      throw error;
    }
  }

  /** Logs of [from, to], splitting the range until the node answers; `sizer` learns from each answer. */
  async logsAdaptive(addresses: string[], from: number, to: number, sizer?: RangeSizer): Promise<RawLog[]> {
    const started = performance.now();
    try {
      const logs = await this.logs(addresses, from, to);
      sizer?.observe(logs.length, performance.now() - started);
      return logs;
    } catch (error) {
      if (!(error instanceof LogRangeError)) throw error;
      sizer?.shrink();
      const middle = Math.floor((from + to) / 2);
      const first = await this.logsAdaptive(addresses, from, middle, sizer);
      const second = await this.logsAdaptive(addresses, middle + 1, to, sizer);
      return first.concat(second);
    }
  }

  async call(to: string, data: `0x${string}`, blockNumber?: number): Promise<`0x${string}`> {
    return (await this.client.request({
      method: "eth_call",
      params: [{ to: to as `0x${string}`, data }, blockNumber === undefined ? "latest" : toHex(blockNumber)],
    })) as `0x${string}`;
  }

  /** A uint256 view at `blockNumber`; an empty answer (no code, no such function) reads as 0. */
  async uintAt(to: string, data: `0x${string}`, blockNumber: number): Promise<bigint> {
    const result = await this.call(to, data, blockNumber);
    return result.length >= 66 ? BigInt(result.slice(0, 66)) : 0n;
  }

  async code(address: string, blockNumber: number): Promise<string> {
    return (await this.client.request({
      method: "eth_getCode",
      params: [address as `0x${string}`, toHex(blockNumber)],
    })) as string;
  }
}

class LogRangeError extends Error {
  constructor(
    readonly from: number,
    readonly to: number,
    override readonly cause: unknown,
  ) {
    super(`eth_getLogs refused blocks ${from}–${to}`);
    this.name = "LogRangeError";
  }
}

/**
 * A node error in words fit for logs and the admin status: viem's short message, HTTP status and
 * details, with any URL cut out. viem's full message names the RPC URL (with an API key in its path,
 * for most hosted nodes) and carries the request body. One function, so that the shared log
 * serializer can take it over.
 */
export function describeChainError(error: unknown): string {
  const redact = (text: string) => text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi, "<url>");
  let text: string;
  if (error instanceof BaseError) {
    const status = (error as { status?: unknown }).status;
    text = [
      error.shortMessage.replace(/\.$/, ""),
      typeof status === "number" ? `HTTP ${status}` : undefined,
      error.details && error.details !== error.shortMessage ? error.details : undefined,
    ]
      .filter(Boolean)
      .join(": ");
  } else if (error instanceof Error) {
    text = `${error.name}: ${error.message.split("\n")[0]}`;
  } else text = "unknown error";
  return redact(text).replace(/\s+/g, " ").slice(0, 300);
}

/**
 * The node answered with a JSON-RPC error (a refusal it would likely repeat: a revert, state it does
 * not keep), as opposed to a request that did not get through (refused connection, timeout, HTTP
 * error), which is worth retrying as it is.
 */
export function nodeRefused(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof RpcRequestError) !== null;
}
