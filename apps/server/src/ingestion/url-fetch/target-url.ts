import { UrlFetchError } from './types';

/**
 * Parses a URL the fetcher is asked to follow (the first one or a redirect's `Location`) and
 * refuses the ones the rules exclude before any address is looked at:
 * - only `http:` and `https:` — `file:`, `ftp:`, `gopher:`, `data:` and friends are other ways
 *   into the server (its disk, other protocols spoken to internal services);
 * - no credentials (`http://user:pass@host/`): the URL is kept with the document and shown to
 *   everyone who can read the collection, so a password in it would leak to them and into logs;
 *   the fetcher would also forward them on redirects to hosts the user never named; and
 *   `http://trusted.example@evil.example/` exists mainly to disguise where a link goes.
 * WHATWG URL parsing also canonicalises odd IPv4 spellings (`http://2130706433/`,
 * `http://0x7f.1/` are 127.0.0.1), so the address rules see the address that will be connected.
 */
export function parseTargetUrl(input: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(input, base);
  } catch {
    throw new UrlFetchError('fetch_failed', `Not a valid URL: ${input.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlFetchError(
      'blocked_address',
      `Only http and https URLs are fetched, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new UrlFetchError(
      'blocked_address',
      'URLs with credentials (user:password@) are not fetched',
    );
  }
  return url;
}

/** The host as `net.connect` and the resolver want it: IPv6 literals without brackets. */
export function bareHostname(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
