// What a setting's value may be, as plain functions: the contract refuses bad input with them and
// the service canonicalises with them. No server code, so the client package can run them too.

/** The canonical form of a BCP 47 language tag (`EN-us` → `en-US`), or null if it is not one. */
export function canonicalLocale(value: string): string | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    return canonical ?? null;
  } catch {
    return null;
  }
}

/**
 * The IANA name of a time zone as the runtime spells it (`europe/paris` → `Europe/Paris`), or null.
 * `Intl.DateTimeFormat` also knows the aliases (`UTC`, `US/Eastern`) that `supportedValuesOf`
 * leaves out; UTC offsets such as `+01:00` are refused, because they do not follow daylight saving.
 */
export function canonicalTimeZone(value: string): string | null {
  try {
    const name = new Intl.DateTimeFormat("en", { timeZone: value }).resolvedOptions().timeZone;
    return /^[+-]/.test(name) ? null : name;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook targets. Kit will call these URLs from inside its network, so a URL must not lead to
// Kit's own neighbours (SSRF). Names are checked as written and addresses as literals; a name is
// not resolved here, because what it resolves to can change after it is saved: whoever delivers
// must check the address it connects to again (as `nonPublicAddressReason` does for a literal).

type Range = [network: number, prefix: number, what: string];

const ipv4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

const NON_PUBLIC_IPV4: Range[] = [
  [ipv4(0, 0, 0, 0), 8, "a 'this network' address"],
  [ipv4(10, 0, 0, 0), 8, "a private address"],
  [ipv4(100, 64, 0, 0), 10, "a carrier-grade NAT address"],
  [ipv4(127, 0, 0, 0), 8, "a loopback address"],
  [ipv4(169, 254, 0, 0), 16, "a link-local address (cloud metadata lives there)"],
  [ipv4(172, 16, 0, 0), 12, "a private address"],
  [ipv4(192, 0, 0, 0), 24, "an IETF protocol address"],
  [ipv4(192, 0, 2, 0), 24, "a documentation address"],
  [ipv4(192, 88, 99, 0), 24, "a 6to4 relay address"],
  [ipv4(192, 168, 0, 0), 16, "a private address"],
  [ipv4(198, 18, 0, 0), 15, "a benchmarking address"],
  [ipv4(198, 51, 100, 0), 24, "a documentation address"],
  [ipv4(203, 0, 113, 0), 24, "a documentation address"],
  [ipv4(224, 0, 0, 0), 4, "a multicast address"],
  [ipv4(240, 0, 0, 0), 4, "a reserved or broadcast address"],
];

function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  const [a, b, c, d] = parts.map(Number) as [number, number, number, number];
  return ipv4(a, b, c, d);
}

function ipv4Problem(address: number): string | null {
  for (const [network, prefix, what] of NON_PUBLIC_IPV4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((address & mask) >>> 0 === network) return what;
  }
  return null;
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a trailing dotted IPv4 part. */
function parseIpv6(text: string): number[] | null {
  let rest = text.toLowerCase();
  if (rest.includes("%")) return null; // a zone id only makes sense on a link-local address
  const lastColon = rest.lastIndexOf(":");
  if (lastColon === -1) return null;
  const tail: number[] = [];
  const last = rest.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last);
    if (v4 === null) return null;
    tail.push(v4 >>> 16, v4 & 0xffff);
    rest = rest.slice(0, lastColon);
    if (rest.endsWith(":")) rest += ":"; // "::1.2.3.4" keeps its "::"
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const group = (part: string) => (part === "" ? [] : part.split(":"));
  const head = group(halves[0] ?? "");
  const back = halves.length === 2 ? group(halves[1] ?? "") : [];
  if (![...head, ...back].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const known = head.length + back.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const zeros = Array.from({ length: 8 - known }, () => 0);
  return [...head.map((g) => Number.parseInt(g, 16)), ...zeros, ...back.map((g) => Number.parseInt(g, 16)), ...tail];
}

function ipv6Problem(groups: number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const embedded = ((g6 << 16) | g7) >>> 0;
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address they carry.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return ipv4Problem(embedded);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return ipv4Problem(embedded);
  // 6to4 (2002:aabb:ccdd::/48) carries its IPv4 address in the second and third groups.
  if (g0 === 0x2002) return ipv4Problem(((g1 << 16) | g2) >>> 0);
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return g7 === 1 && g6 === 0 ? "a loopback address" : "an unspecified or IPv4-compatible address";
  }
  if ((g0 & 0xfe00) === 0xfc00) return "a unique-local address";
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address";
  if ((g0 & 0xff00) === 0xff00) return "a multicast address";
  // Only global unicast (2000::/3) is reachable on the internet; within it, a few are not for use.
  if ((g0 & 0xe000) !== 0x2000) return "a non-global address";
  if (g0 === 0x2001 && g1 === 0x0db8) return "a documentation address";
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return "a documentation address";
  if (g0 === 0x2001 && g1 === 0) return "a Teredo tunnel address";
  return null;
}

/** Why an IP address (v4 or v6, without brackets) is not a public one; null when it is public. */
function nonPublicAddressReason(address: string): string | null {
  const v4 = parseIpv4(address);
  if (v4 !== null) return ipv4Problem(v4);
  const v6 = parseIpv6(address);
  if (v6 !== null) return ipv6Problem(v6);
  return "not an IP address";
}

/** Names that only mean something inside a network (RFC 6761, RFC 8375, common private zones). */
const INTERNAL_SUFFIXES = ["localhost", "local", "localdomain", "internal", "intranet", "lan", "home.arpa", "arpa"];
const RESERVED_SUFFIXES = ["test", "invalid", "example"];

/** Why `value` cannot be a webhook URL; null when it can. */
export function webhookUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "expected an absolute URL such as https://hooks.example.com/kit";
  }
  if (url.protocol !== "https:") return "the webhook URL must use https://";
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and 127.1 into 127.0.0.1.
  const host = url.hostname.replace(/\.$/, "");
  if (host.startsWith("[")) {
    const reason = nonPublicAddressReason(host.slice(1, -1));
    return reason ? `the webhook URL points at ${reason}` : null;
  }
  if (parseIpv4(host) !== null) {
    const reason = nonPublicAddressReason(host);
    return reason ? `the webhook URL points at ${reason}` : null;
  }
  const isUnder = (suffix: string) => host === suffix || host.endsWith(`.${suffix}`);
  if (INTERNAL_SUFFIXES.some(isUnder)) return `the webhook URL points at an internal host name (${host})`;
  if (RESERVED_SUFFIXES.some(isUnder)) return `the webhook URL uses a reserved domain (${host})`;
  if (!host.includes(".")) return "the webhook URL needs a fully qualified public host name";
  return null;
}
