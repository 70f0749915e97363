/**
 * Which IP addresses a fetch on a user's behalf may reach. The rule is an allow rule, not a list
 * of bad ranges: only *global unicast* is fetched, so a range nobody thought of is refused rather
 * than reached. Ranges come from ipaddr.js (`range()`), which tracks the IANA special-purpose
 * registries; nothing here parses addresses by hand.
 *
 * Refused (decided for API.md "Documents as people have them"):
 * - IPv4: everything ipaddr.js does not call `unicast`: 0.0.0.0/8 (`unspecified`, which Linux
 *   treats as "this host"), 127/8, 10/8, 172.16/12, 192.168/16, 169.254/16 (cloud metadata),
 *   100.64/10 (CGNAT: often the provider's internal network), 224/4, 240/4 and 255.255.255.255,
 *   the documentation and benchmarking nets, 192.0.0/24, and the anycast service ranges (AS112,
 *   AMT, the old 6to4 relay) which serve no documents.
 * - IPv6: anything outside 2000::/3 (global unicast) — so ::1, ::, fc00::/7, fe80::/10, fec0::/10,
 *   ff00::/8, 100::/64 and the deprecated IPv4-compatible ::a.b.c.d, which some stacks still route
 *   to the IPv4 host — and inside it every special range: 6to4 (2002::/16) and Teredo (2001::/32)
 *   reach an embedded IPv4 address through whatever relay the network has, so they are refused
 *   outright (both are deprecated; no site depends on them), as are documentation, ORCHID, AMT,
 *   AS112 and the like.
 * - IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it is: the kernel connects to
 *   that IPv4 host.
 * - NAT64 (64:ff9b::/96) is judged as its embedded IPv4 address: on an IPv6-only network with
 *   DNS64 every IPv4-only site resolves there, so refusing the prefix would refuse the IPv4
 *   internet, while 64:ff9b::a9fe:a9fe must not reach 169.254.169.254. The local-use NAT64 prefix
 *   (64:ff9b:1::/48) embeds at an operator-chosen length and is refused, as is the IPv4-translated
 *   form (::ffff:0:a.b.c.d).
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Parses an IP literal (brackets allowed), turning IPv4-mapped IPv6 into the IPv4 address it
 * names; null when the text is not an address. Only the canonical forms `net.isIP` accepts count:
 * the odd IPv4 spellings (`0x7f.1`, `2130706433`) are turned into dotted quads by WHATWG URL
 * parsing before anything gets here, and a host name that merely looks like one stays a name.
 */
export function parseIpLiteral(text: string): IpAddress | null {
  const address = parseIpExactly(text);
  return address && normaliseAddress(address);
}

/** `parseIpLiteral` without the mapped-to-IPv4 step (a CIDR needs its prefix read first). */
export function parseIpExactly(text: string): IpAddress | null {
  const bracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // A zone (`fe80::1%eth0`, as a resolver may answer) does not change which range it is in.
  const bare = bracketed.replace(/%.*$/, '');
  const kind = isIP(bare);
  if (kind === 0) return null;
  if (kind === 4) return ipaddr.parse(bare);
  // ipaddr.js reads the deprecated IPv4-compatible `::a.b.c.d` as the *mapped* `::ffff:a.b.c.d`;
  // the WHATWG serialisation (all hex, `::7f00:1`) is parsed as what it is.
  return ipaddr.parse(new URL(`http://[${bare}]/`).hostname.slice(1, -1));
}

/** IPv4-mapped IPv6 is the IPv4 address it maps: judge and match it as that. */
export function normaliseAddress(address: IpAddress): IpAddress {
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress()
    ? address.toIPv4Address()
    : address;
}

/**
 * Why an address may not be fetched (a short range name such as `loopback` or `nat64 private`),
 * or null when it is public global unicast.
 */
export function blockedRange(input: IpAddress): string | null {
  const address = normaliseAddress(input);
  if (address.kind() === 'ipv4') {
    const range = address.range();
    return range === 'unicast' ? null : range;
  }
  if (address.match(NAT64_WELL_KNOWN)) {
    const embedded = ipaddr.fromByteArray(address.toByteArray().slice(12));
    const inner = blockedRange(embedded);
    return inner === null ? null : `nat64 ${inner}`;
  }
  const range = address.range();
  if (range !== 'unicast') return range;
  if (address.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  if (!address.match(GLOBAL_UNICAST)) return 'notGlobalUnicast';
  return null;
}
