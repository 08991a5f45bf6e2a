// Chain and system: what Kit reports of itself (version, dependencies, chain head), and the tokens
// it indexes with how far the indexer has got for each.
import { useEffect } from "react";
import { rpc } from "../api";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

export function SystemPage() {
  const info = useLoad(() => rpc.system.info(), []);
  useEffect(() => {
    document.title = "Chain & system · Kit console";
  }, []);
  const data = info.data;

  return (
    <section aria-labelledby="system-title">
      <h1 id="system-title">Chain &amp; system</h1>
      <button type="button" onClick={() => void info.reload()} disabled={info.loading}>
        Check again
      </button>
      {info.error && (
        <p role="alert" className="error">
          {info.error}
        </p>
      )}
      {data && (
        <div className="columns">
          <section className="card" aria-labelledby="chain-title">
            <h2 id="chain-title">Chain</h2>
            <dl className="facts">
              <dt>Chain id</dt>
              <dd>{data.chain.id ?? "unknown"}</dd>
              <dt>Latest block</dt>
              <dd>{data.chain.latestBlock ?? "unknown (the node did not answer)"}</dd>
              <dt>Kit version</dt>
              <dd>{data.version}</dd>
              <dt>Up for</dt>
              <dd>{Math.round(data.uptimeSeconds / 60)} min</dd>
              <dt>Checked</dt>
              <dd>{formatTime(data.checkedAt)}</dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="deps-title">
            <h2 id="deps-title">Dependencies</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">State</th>
                  <th scope="col" className="number">
                    Latency
                  </th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(data.dependencies).map(([name, dep]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>
                      <span className={`badge ${dep?.up ? "status-approved" : "status-rejected"}`}>
                        {dep?.up ? "Up" : "Down"}
                      </span>
                      {dep?.error && <span className="muted"> {dep.error}</span>}
                    </td>
                    <td className="number">{dep ? `${dep.latencyMs.toFixed(1)} ms` : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
      <TokensCard latestBlock={data?.chain.latestBlock ?? null} />
    </section>
  );
}

/** Tokens Kit indexes; each one's detail names the indexer's last block for it (a few tokens: one call each). */
function TokensCard({ latestBlock }: { latestBlock: string | null }) {
  const tokens = useLoad(async () => {
    const page = await rpc.tokens.list({ limit: 50 });
    const details = await Promise.all(
      page.items.map((t) => rpc.tokens.get({ address: t.address }).catch(() => undefined)),
    );
    return page.items.map((token, i) => ({ token, indexedBlock: details[i]?.indexedBlock ?? null }));
  }, []);
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens and indexer</h2>
      {tokens.error && (
        <p role="alert" className="error">
          {tokens.error}
        </p>
      )}
      <table aria-busy={tokens.loading}>
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Address</th>
            <th scope="col" className="number">
              Total supply
            </th>
            <th scope="col" className="number">
              Holders
            </th>
            <th scope="col">State</th>
            <th scope="col">Indexed up to block</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map(({ token, indexedBlock }) => (
            <tr key={token.address}>
              <td>
                {token.name ?? "(no name)"} {token.symbol && <span className="muted">({token.symbol})</span>}
              </td>
              <td>
                <code>{token.address}</code>
              </td>
              <td className="number">{token.totalSupply.formatted}</td>
              <td className="number">{token.holders}</td>
              <td>{token.paused === null ? "—" : token.paused ? "Paused" : "Active"}</td>
              <td>
                {indexedBlock ?? "not yet"}
                {indexedBlock && latestBlock && (
                  <span className="muted"> ({BigInt(latestBlock) - BigInt(indexedBlock)} behind the head)</span>
                )}
              </td>
            </tr>
          ))}
          {tokens.data?.length === 0 && (
            <tr>
              <td colSpan={6} className="empty">
                No token indexed yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
