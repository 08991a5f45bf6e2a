// The SSRF guard. Kit calls webhook URLs from inside its own network, so where a URL leads is
// checked when Kit connects, not only when the URL is saved: the host is resolved here, every
// address it resolves to is checked, and the connection goes to the checked address itself (the
// Host header and the TLS server name stay the URL's), so a DNS answer that changes after the check
// is never used. The ranges refused are settings' (validation.ts), applied to each address.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { webhookUrlProblem } from "../settings/validation";

interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; injectable so tests can answer as a hostile DNS would. */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (host) => {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Why an IP address is not a public one (loopback, private, link-local, CGNAT, metadata…); null when public. */
export function addressProblem(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return "not an IP address";
  // settings' check reads an IP literal in a URL exactly (IPv4-mapped IPv6 and NAT64 included).
  const problem = webhookUrlProblem(`https://${family === 6 ? `[${address}]` : address}/`);
  return problem ? problem.replace(/^the webhook URL points at /, "") : null;
}

export type Target =
  | { ok: true; url: URL; host: string; address: string; family: 4 | 6 }
  | { ok: false; host: string; address?: string; reason: string };

/**
 * Where to connect for `url`: its host resolved (an IP literal as is) and checked. With
 * `allowPrivate`, every address is allowed (development, tests); otherwise one non-public answer
 * refuses the whole name, since which of several answers a client uses is not ours to predict.
 */
export async function resolveTarget(
  url: URL,
  options: { allowPrivate: boolean; resolve: HostResolver },
): Promise<Target> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await options.resolve(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return {
        ok: false,
        host,
        reason: `the host name did not resolve${typeof code === "string" ? ` (${code})` : ""}`,
      };
    }
  }
  const [first] = addresses;
  if (!first) return { ok: false, host, reason: "the host name resolved to no address" };
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const problem = addressProblem(address);
      if (problem) return { ok: false, host, address, reason: `resolves to ${problem}` };
    }
  }
  return { ok: true, url, host, address: first.address, family: first.family };
}
