import { allowListOf } from './allow-list';
import { checkLiteralHost, resolveAllowed, systemResolveHost } from './guarded-lookup';
import { bareHostname, parseTargetUrl } from './target-url';
import { UrlFetchError, type UrlFetchOptions } from './types';

/**
 * The check made at once, before a job is queued: the URL is http(s) without credentials and its
 * host resolves only to allowed addresses. Throws `UrlFetchError('blocked_address' |
 * 'fetch_failed')`. Passing it promises nothing about later: the fetch judges every address it
 * connects to again, redirects included.
 */
export async function checkUrl(url: string, opts: UrlFetchOptions): Promise<URL> {
  const target = parseTargetUrl(url);
  const allowList = allowListOf(opts.allowHosts);
  if (checkLiteralHost(target, allowList)) return target;
  const hostname = bareHostname(target);
  const resolving = resolveAllowed(hostname, allowList, opts.resolveHost ?? systemResolveHost);
  // A resolver that does not answer must not hold the request open: the fetch's time cap bounds
  // the check too (the lookup itself cannot be cancelled; its late answer is ignored).
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UrlFetchError(
            'fetch_failed',
            `Resolving ${hostname} took longer than ${opts.timeoutMs} ms`,
          ),
        ),
      opts.timeoutMs,
    );
  });
  try {
    await Promise.race([resolving, late]);
  } finally {
    clearTimeout(timer);
  }
  return target;
}
