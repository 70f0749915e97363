/**
 * `URL_FETCH_ALLOW_HOSTS`: what an operator lets the fetcher reach despite the address rules (an
 * intranet wiki, or a test's server on 127.0.0.1).
 *
 * How the two kinds of entry combine:
 * - a **host name** entry (`wiki.corp`, `localhost`) matches the URL's host exactly,
 *   case-insensitively (no subdomains, a trailing dot ignored), and then allows whatever that name
 *   resolves to — the operator vouches for the name, and it is their DNS. It allows nothing for
 *   any other name or for an address literal: `http://localhost/` being allowed does not let a
 *   redirect to `http://[::ffff:127.0.0.1]/` or `http://127.0.0.1/` through.
 * - an **address or CIDR** entry (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`) allows a connection to
 *   that address whatever name led there — it is matched against the address actually connected,
 *   after IPv4-mapped IPv6 is read as IPv4 (so `127.0.0.1` also allows `::ffff:127.0.0.1`).
 * Anything else in the list is a configuration error, reported by `parseAllowList` at start.
 */
import ipaddr from 'ipaddr.js';
import { type IpAddress, normaliseAddress, parseIpExactly, parseIpLiteral } from './address-rules';

export interface AllowList {
  /** Lower case, no trailing dot, IDNs in their ASCII form (as WHATWG URL spells hosts). */
  readonly hostNames: ReadonlySet<string>;
  readonly ranges: readonly (readonly [IpAddress, number])[];
}

export class InvalidAllowListEntry extends Error {
  override name = 'InvalidAllowListEntry';
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`URL_FETCH_ALLOW_HOSTS: "${entry}" ${reason}`);
  }
}

/**
 * Parses the comma list (or its entries); blank entries are skipped. Throws
 * `InvalidAllowListEntry` naming the first entry that is not a host name, an address or a CIDR.
 *
 * @example parseAllowList('localhost, 10.0.0.0/8, wiki.corp')
 */
export function parseAllowList(value: string | readonly string[]): AllowList {
  const entries = typeof value === 'string' ? value.split(',') : value;
  const hostNames = new Set<string>();
  const ranges: (readonly [IpAddress, number])[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry.includes('/') && parseIpExactly(entry.slice(0, entry.indexOf('/')))) {
      ranges.push(parseCidr(entry));
    } else {
      const address = parseIpLiteral(entry);
      if (address) ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      else hostNames.add(parseHostName(entry));
    }
  }
  return { hostNames, ranges };
}

function parseCidr(entry: string): readonly [IpAddress, number] {
  const [text = '', bits = '', ...rest] = entry.split('/');
  const address = parseIpExactly(text);
  const prefix = Number(bits);
  const max = address?.kind() === 'ipv4' ? 32 : 128;
  if (!address || rest.length > 0 || !/^\d{1,3}$/.test(bits) || prefix > max) {
    throw new InvalidAllowListEntry(entry, 'is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)');
  }
  // A mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps, since connected addresses are
  // matched after the same normalisation.
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && prefix >= 96) {
    return [normaliseAddress(address), prefix - 96];
  }
  return [address, prefix];
}

function parseHostName(entry: string): string {
  // Only a bare host: a scheme, port, path or credentials would be silently ignored otherwise.
  if (/[:@/?#\\\s]/.test(entry)) {
    throw new InvalidAllowListEntry(
      entry,
      'must be a bare host name, address or CIDR (no scheme, port, path or spaces)',
    );
  }
  let url: URL;
  try {
    url = new URL(`http://${entry}/`);
  } catch {
    throw new InvalidAllowListEntry(entry, 'is not a valid host name');
  }
  // `2130706433` or `0x7f.1` are what URLs read as 127.0.0.1: make the operator say which they mean.
  if (parseIpLiteral(url.hostname)) {
    throw new InvalidAllowListEntry(entry, 'reads as an IP address: write it in dotted form');
  }
  return canonicalHostName(url.hostname);
}

/** The form host names are compared in (the URL parser already lower-cased and punycoded it). */
export function canonicalHostName(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

export function allowsHostName(list: AllowList, hostname: string): boolean {
  return list.hostNames.has(canonicalHostName(hostname));
}

export function allowsAddress(list: AllowList, input: IpAddress): boolean {
  const address = normaliseAddress(input);
  return list.ranges.some(
    ([range, prefix]) => range.kind() === address.kind() && address.match(range, prefix),
  );
}

// Options carry the configured array; parse it once per array rather than once per fetch.
const parsed = new WeakMap<readonly string[], AllowList>();

export function allowListOf(entries: readonly string[]): AllowList {
  let list = parsed.get(entries);
  if (!list) {
    list = parseAllowList(entries);
    parsed.set(entries, list);
  }
  return list;
}
