// One token, for its issuers: what it is (facts, the four-eyes policy and a change waiting), its holders with their freezes,
// the servicing forms, and its operations — all following tokens.operations.events live. The parts
// are in ./token/. A caller without a grant on the token is told so (and nothing is streamed).
import { useEffect, useRef, useState } from "react";
import { type Me, type OperationPolicy, type OperationView, rpc, type TokenDetail } from "../api";
import { Alert } from "../components/Alert";
import { TokenStateBadge } from "../components/Badge";
import { Card } from "../components/Card";
import { Facts } from "../components/Facts";
import { LiveStatus } from "../components/LiveStatus";
import { usePageTitle } from "../components/Page";
import { useLoad } from "../hooks";
import { Link } from "../router";
import { BurnForm, ForcedTransferForm, MintForm, PauseForm } from "./token/Forms";
import { HoldersCard } from "./token/Holders";
import { OperationsLiveProvider, useOperationEvents, useOperationsLive } from "./token/live";
import { OperationsCard } from "./token/Operations";
import { PolicyCard } from "./token/Policy";

/** How long tokens.get shares its chain reads (LIVE_FACTS_CACHE_SECONDS in the api), plus a margin. */
const CHAIN_FACTS_SHARED_MS = 5_500;
const INDEX_WAIT_STEP_MS = 500;
const INDEX_WAIT_STEPS = 40;

export function TokenPage({ me, address }: { me: Me; address: string }) {
  const token = useLoad(() => rpc.tokens.get({ address }), [address]);
  // Needs a grant on the token, as everything below does: its refusal is the page's answer.
  const policy = useLoad(() => rpc.tokens.operations.policy.get({ address }), [address]);
  const name = token.data ? tokenName(token.data) : "Token";
  usePageTitle(name);

  const refused = token.error ?? policy.error;
  return (
    <section aria-labelledby="token-title">
      <p className="breadcrumb">
        <Link to="/tokens">← My tokens</Link>
      </p>
      {refused && (
        <>
          <h1 id="token-title">{name}</h1>
          <Alert>{refused}</Alert>
        </>
      )}
      {!refused && (!token.data || !policy.data) && <p>Loading…</p>}
      {!refused && token.data && policy.data && (
        <OperationsLiveProvider address={token.data.address}>
          <TokenDetailView
            me={me}
            token={token.data}
            policy={policy.data}
            reloadToken={token.reload}
            reloadPolicy={policy.reload}
          />
        </OperationsLiveProvider>
      )}
    </section>
  );
}

function tokenName(token: TokenDetail): string {
  return `${token.name ?? "(no name)"}${token.symbol ? ` (${token.symbol})` : ""}`;
}

function TokenDetailView({
  me,
  token,
  policy,
  reloadToken,
  reloadPolicy,
}: {
  me: Me;
  token: TokenDetail;
  policy: OperationPolicy;
  reloadToken: () => Promise<void>;
  reloadPolicy: () => Promise<void>;
}) {
  const live = useOperationsLive();
  const holderRefreshes = useIndexRefresh(token.address, reloadToken);
  const units = { decimals: token.decimals, symbol: token.symbol };
  const paused = token.paused === true;
  const { metadata } = token;

  return (
    <>
      <header className="application-header">
        <h1 id="token-title">{tokenName(token)}</h1>
        <TokenStateBadge paused={token.paused} />
        <LiveStatus
          state={live.state}
          className="live-inline"
          title="Operations of this token appear and move on without reloading"
        />
      </header>
      <div className="columns">
        <div>
          <Card heading="Token" headingId="facts-title">
            <Facts
              facts={{
                Address: <code>{token.address}</code>,
                "Total supply": `${token.totalSupply.formatted}${token.symbol ? ` ${token.symbol}` : ""}`,
                Holders: token.holders,
                Decimals: token.decimals,
                ...(metadata.assetClass ? { "Asset class": metadata.assetClass.replace("_", " ") } : {}),
                ...(metadata.isin ? { ISIN: metadata.isin } : {}),
                "Indexed up to": token.indexedBlock ? `block ${token.indexedBlock}` : "not indexed yet",
                ...(token.source === "index"
                  ? { "Read from": "Kit's index (the chain node did not answer just now)" }
                  : {}),
              }}
            />
          </Card>
          <PolicyCard me={me} address={token.address} units={units} policy={policy} reload={reloadPolicy} />
          <PauseForm address={token.address} units={units} policy={policy} paused={paused} />
          <BurnForm address={token.address} units={units} policy={policy} />
        </div>
        <div>
          <MintForm address={token.address} units={units} policy={policy} />
          <ForcedTransferForm address={token.address} units={units} policy={policy} />
        </div>
      </div>
      <HoldersCard address={token.address} units={units} refreshes={holderRefreshes} />
      <OperationsCard me={me} address={token.address} units={units} />
    </>
  );
}

/**
 * After an operation is confirmed, the holders and facts are read again once Kit's index has
 * reached its block (holders come from the index, which follows the chain a moment later). Counts
 * those catch-ups; the token's chain facts are read again once more after tokens.get's shared copy
 * has expired.
 */
function useIndexRefresh(address: string, reloadToken: () => Promise<void>): number {
  const [refreshes, setRefreshes] = useState(0);
  const wanted = useRef(0);
  const waiting = useRef(false);
  const mounted = useRef(true);
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => {
    mounted.current = true;
    const pending = timers.current;
    return () => {
      mounted.current = false;
      for (const timer of pending) clearTimeout(timer);
    };
  }, []);

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.current.delete(timer);
      run();
    }, ms);
    timers.current.add(timer);
  };

  const catchUp = async () => {
    if (waiting.current) return; // the running wait follows `wanted` as it grows
    waiting.current = true;
    try {
      for (let step = 0; step < INDEX_WAIT_STEPS && mounted.current; step++) {
        const indexed = await rpc.tokens.get({ address }).then(
          (t) => Number(t.indexedBlock ?? -1),
          () => -1,
        );
        if (indexed >= wanted.current) break;
        await new Promise((resolve) => later(INDEX_WAIT_STEP_MS, () => resolve(undefined)));
      }
    } finally {
      waiting.current = false;
    }
    if (!mounted.current) return;
    setRefreshes((n) => n + 1);
    void reloadToken();
  };

  useOperationEvents((operation: OperationView) => {
    if (operation.status !== "confirmed" || operation.blockNumber === null) return;
    wanted.current = Math.max(wanted.current, operation.blockNumber);
    void catchUp();
    later(CHAIN_FACTS_SHARED_MS, () => void reloadToken());
  });
  return refreshes;
}
