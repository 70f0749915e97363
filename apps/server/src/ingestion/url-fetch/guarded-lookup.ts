/**
 * Resolving a host name and judging every address it resolves to, and the `lookup` function the
 * HTTP agent connects through. Because the agent's own resolution *is* this checked one, the
 * address connected is the address judged: a DNS answer that changes between the route's check
 * and the job's fetch (DNS rebinding) is judged again at connect time and refused.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { blockedRange, parseIpLiteral } from './address-rules';
import { type AllowList, allowsAddress, allowsHostName } from './allow-list';
import { bareHostname } from './target-url';
import { type ResolvedAddress, type ResolveHost, UrlFetchError } from './types';

export const systemResolveHost: ResolveHost = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Refuses an IP-literal host that is neither public nor on the allow list. `net.connect` skips
 * `lookup` for literals, so the fetcher calls this before connecting to one.
 */
export function checkLiteralHost(url: URL, allowList: AllowList): boolean {
  const address = parseIpLiteral(bareHostname(url));
  if (!address) return false;
  const range = blockedRange(address);
  if (range !== null && !allowsAddress(allowList, address)) {
    throw new UrlFetchError(
      'blocked_address',
      `${url.host} is a ${range} address, which is not fetched (URL_FETCH_ALLOW_HOSTS can allow it)`,
    );
  }
  return true;
}

/**
 * Every address `hostname` resolves to, once each is judged: one blocked address refuses the host
 * (rather than connecting to the others), since which one a client would use is up to the
 * resolver. The refusal names the range but not the address, so it does not map internal DNS.
 */
export async function resolveAllowed(
  hostname: string,
  allowList: AllowList,
  resolveHost: ResolveHost,
): Promise<readonly ResolvedAddress[]> {
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolveHost(hostname);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UrlFetchError(
      'fetch_failed',
      `Cannot resolve ${hostname}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  if (addresses.length === 0) throw new UrlFetchError('fetch_failed', `Cannot resolve ${hostname}`);
  if (allowsHostName(allowList, hostname)) return addresses;
  for (const { address } of addresses) {
    const parsed = parseIpLiteral(address);
    const range = parsed ? blockedRange(parsed) : 'unparsable';
    if (range !== null && !(parsed && allowsAddress(allowList, parsed))) {
      throw new UrlFetchError(
        'blocked_address',
        `${hostname} resolves to a ${range} address, which is not fetched (URL_FETCH_ALLOW_HOSTS can allow it)`,
      );
    }
  }
  return addresses;
}

/**
 * A `lookup` for `http.request`/`net.connect` that answers only with checked addresses, in both
 * of the forms Node asks for (`all: true` when it races address families, a single address
 * otherwise).
 */
export function guardedLookup(allowList: AllowList, resolveHost: ResolveHost): LookupFunction {
  return (hostname, options, callback) => {
    resolveAllowed(hostname, allowList, resolveHost).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const wanted = family ? addresses.filter((a) => a.family === family) : [...addresses];
        const [first] = wanted;
        if (!first) {
          const error = new UrlFetchError(
            'fetch_failed',
            `${hostname} has no IPv${family} address`,
          );
          callback(error, '', 0);
        } else if (options.all) callback(null, wanted);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}
