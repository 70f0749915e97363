import { allowListOf } from './allow-list';
import { checkLiteralHost, resolveAllowed, systemResolveHost } from './guarded-lookup';
import { bareHostname, parseTargetUrl } from './target-url';
import type { UrlFetchOptions } from './types';

/**
 * The check made at once, before a job is queued: the URL is http(s) without credentials and its
 * host resolves only to allowed addresses. Throws `UrlFetchError('blocked_address' |
 * 'fetch_failed')`. Passing it promises nothing about later: the fetch judges every address it
 * connects to again, redirects included.
 */
export async function checkUrl(url: string, opts: UrlFetchOptions): Promise<URL> {
  const target = parseTargetUrl(url);
  const allowList = allowListOf(opts.allowHosts);
  if (!checkLiteralHost(target, allowList)) {
    await resolveAllowed(bareHostname(target), allowList, opts.resolveHost ?? systemResolveHost);
  }
  return target;
}
