// Chain and system: what Kit reports of itself (version, dependencies, chain head), and the tokens
// it indexes with how far the indexer has got for each; for admins, the indexer in detail (its last
// error, and the tokens quarantined or catching up).
import { useState } from "react";
import { can, type Me, rpc } from "../api";
import { Alert } from "../components/Alert";
import { Badge } from "../components/Badge";
import { Card } from "../components/Card";
import { DataTable } from "../components/DataTable";
import { Facts } from "../components/Facts";
import { Page } from "../components/Page";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

export function SystemPage({ me }: { me: Me }) {
  const [checks, setChecks] = useState(0);
  const info = useLoad(() => rpc.system.info(), [checks]);
  const data = info.data;

  return (
    <Page heading="Chain & system" headingId="system-title">
      <button type="button" onClick={() => setChecks((n) => n + 1)} disabled={info.loading}>
        Check again
      </button>
      <Alert>{info.error}</Alert>
      {data && (
        <div className="columns">
          <Card heading="Chain" headingId="chain-title">
            <Facts
              facts={{
                "Chain id": data.chain.id ?? "unknown",
                "Latest block": data.chain.latestBlock ?? "unknown (the node did not answer)",
                "Kit version": data.version,
                "Up for": `${Math.round(data.uptimeSeconds / 60)} min`,
                Checked: formatTime(data.checkedAt),
              }}
            />
          </Card>
          <Card heading="Dependencies" headingId="deps-title">
            <DataTable columns={["Service", "State", { label: "Latency", numeric: true }]}>
              {Object.entries(data.dependencies).map(([name, dep]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td>
                    <Badge tone={dep?.up ? "approved" : "rejected"}>{dep?.up ? "Up" : "Down"}</Badge>
                    {dep?.error && <span className="muted"> {dep.error}</span>}
                  </td>
                  <td className="number">{dep ? `${dep.latencyMs.toFixed(1)} ms` : "—"}</td>
                </tr>
              ))}
            </DataTable>
          </Card>
        </div>
      )}
      {can(me, "settings", "manage_system") && <IndexerCard checks={checks} />}
      <TokensCard latestBlock={data?.chain.latestBlock ?? null} />
    </Page>
  );
}

/** The indexer as admins see it (system.indexer): state, last error (redacted by Kit), tokens that need a look. */
function IndexerCard({ checks }: { checks: number }) {
  const overview = useLoad(() => rpc.system.indexer(), [checks]);
  const data = overview.data;
  return (
    <Card heading="Indexer" headingId="indexer-title">
      <Alert>{overview.error}</Alert>
      {data && (
        <>
          <Facts
            facts={{
              State: data.report
                ? `${data.report.state} (${data.report.role}), reported ${formatTime(data.report.reportedAt)}`
                : "no indexer reported in the last minute",
              "Indexed up to": data.checkpoint ? `block ${data.checkpoint.block}` : "nothing indexed yet",
              "Last error": data.report?.lastError
                ? `${data.report.lastError} (${formatTime(data.report.lastErrorAt)})`
                : "none reported",
              Tokens: `${data.tokens.following} followed, ${data.tokens.catchingUp} catching up, ${data.tokens.quarantined} quarantined`,
            }}
          />
          {data.attention.length > 0 && (
            <DataTable
              label="Tokens quarantined or catching up"
              columns={["Token", "State", "Complete up to block", "Why"]}
            >
              {data.attention.map((token) => (
                <tr key={token.address}>
                  <td>
                    {token.symbol || token.name} <code>{token.address}</code>
                  </td>
                  <td>
                    {token.state === "quarantined" ? `Quarantined ${formatTime(token.quarantinedAt)}` : "Catching up"}
                  </td>
                  <td>{token.indexedBlock ?? "—"}</td>
                  <td>
                    {token.reason ?? "—"}
                    {token.state === "quarantined" && (
                      <span className="muted">
                        {" "}
                        Once fixed:{" "}
                        <code>
                          bun run kit indexer:reset --chain-id {data.chainId} --token {token.address}
                        </code>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </>
      )}
    </Card>
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
    <Card heading="Tokens and indexer" headingId="tokens-title">
      <Alert>{tokens.error}</Alert>
      <DataTable
        columns={[
          "Token",
          "Address",
          { label: "Total supply", numeric: true },
          { label: "Holders", numeric: true },
          "State",
          "Indexed up to block",
        ]}
        busy={tokens.loading}
        empty={tokens.data?.length === 0 && "No token indexed yet."}
      >
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
      </DataTable>
    </Card>
  );
}
