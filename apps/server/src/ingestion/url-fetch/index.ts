/**
 * Fetching a document from a URL on a user's behalf, without becoming a way into the server's own
 * network (SSRF): API.md "Documents as people have them" gives the address rules.
 */

export type UrlFetchFailureCode = 'blocked_address' | 'fetch_failed' | 'too_large';

export class UrlFetchError extends Error {
  override name = 'UrlFetchError';
  constructor(
    readonly code: UrlFetchFailureCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export interface UrlFetchOptions {
  /** `URL_FETCH_ALLOW_HOSTS`: host names, addresses or CIDRs allowed despite the rules. */
  allowHosts: readonly string[];
  /** The whole fetch (connect, redirects, body) must end within this. */
  timeoutMs: number;
  /** A body larger than this is `too_large` (counted as it arrives). */
  maxBytes: number;
  /** Default 5. */
  maxRedirects?: number;
}

export interface FetchedDocument {
  bytes: Uint8Array;
  /** The URL that answered, after redirects. */
  url: string;
  /** The response's media type, without parameters; null when absent. */
  contentType: string | null;
  /** A name for the document: the last path segment of the final URL, or its host. */
  fileName: string;
}

/**
 * The check made at once, before a job is queued: the URL is http(s) and its host resolves only
 * to allowed addresses. Throws `UrlFetchError('blocked_address' | 'fetch_failed')`.
 * (Placeholder until the fetcher lands: refuses every URL.)
 */
export async function checkUrl(url: string, _opts: UrlFetchOptions): Promise<URL> {
  throw new UrlFetchError('fetch_failed', `Fetching URLs is not available yet: ${url}`);
}

/**
 * Fetches the document, checking the address actually connected and every redirect.
 * (Placeholder until the fetcher lands.)
 */
export async function fetchDocumentUrl(
  url: string,
  _opts: UrlFetchOptions,
  _signal?: AbortSignal,
): Promise<FetchedDocument> {
  throw new UrlFetchError('fetch_failed', `Fetching URLs is not available yet: ${url}`);
}
