// My tokens: the tokens the signed-in issuer is granted on (tokens.grants.mine), a page at a time,
// each with what Kit reads of it now (tokens.get: one call per token of the page).
import { rpc } from "../api";
import { Alert } from "../components/Alert";
import { TokenStateBadge } from "../components/Badge";
import { DataTable } from "../components/DataTable";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime } from "../format";
import { useLoad } from "../hooks";
import { Link } from "../router";

const PAGE_SIZE = 25;

export function TokensPage({ mayCreate = false }: { mayCreate?: boolean }) {
  const paging = useCursorPaging(PAGE_SIZE);
  const { cursor } = paging;
  const grants = useLoad(async () => {
    const page = await rpc.tokens.grants.mine({ cursor, limit: PAGE_SIZE });
    // A token granted on but not (or no longer) indexed has no detail: the row says so.
    const details = await Promise.all(page.items.map((g) => rpc.tokens.get({ address: g.token }).catch(() => null)));
    return { ...page, items: page.items.map((grant, i) => ({ grant, token: details[i] ?? null })) };
  }, [cursor]);

  return (
    <Page heading="My tokens" headingId="tokens-title">
      <p className="muted">
        The tokens you are granted on: you may mint, burn, freeze, pause and force transfers on them. An administrator
        or another of a token's issuers grants it; you are granted on the tokens you create.
      </p>
      {mayCreate && (
        <p>
          <Link to="/tokens/new">Create a token</Link>
        </p>
      )}
      <Alert>{grants.error}</Alert>
      <DataTable
        columns={[
          "Token",
          "Address",
          { label: "Total supply", numeric: true },
          { label: "Holders", numeric: true },
          "State",
          "Granted",
        ]}
        busy={grants.loading}
        empty={grants.data?.items.length === 0 && "You are granted on no token yet."}
      >
        {grants.data?.items.map(({ grant, token }) => (
          <tr key={grant.token}>
            <td>
              <Link to={`/tokens/${grant.token}`}>{token?.name ?? "(not indexed yet)"}</Link>
              {token?.symbol && <span className="muted"> ({token.symbol})</span>}
            </td>
            <td>
              <code>{grant.token}</code>
            </td>
            <td className="number">{token ? token.totalSupply.formatted : "—"}</td>
            <td className="number">{token ? token.holders : "—"}</td>
            <td>{token ? <TokenStateBadge paused={token.paused} /> : "—"}</td>
            <td>{formatTime(grant.grantedAt)}</td>
          </tr>
        ))}
      </DataTable>
      <Pager paging={paging} page={grants.data} noun="Tokens" none="No tokens" />
    </Page>
  );
}
