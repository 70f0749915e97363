/**
 * What the URL fetcher promises its callers (the document route's at-once check and the ingestion
 * job): the failure codes are the contract's document error codes (API.md "Documents as people
 * have them").
 */

export type UrlFetchFailureCode = 'blocked_address' | 'fetch_failed' | 'too_large';

/**
 * `blocked_address`: the URL, a redirect or a resolved address is one the rules refuse (a scheme
 * other than http(s), credentials in the URL, a non-public address not on the allow list).
 * `fetch_failed`: anything else that stops the fetch (no such host, refused connection, HTTP
 * status ≥ 400, too many redirects, the time cap). `too_large`: the body passed the size cap.
 */
export class UrlFetchError extends Error {
  override name = 'UrlFetchError';
  constructor(
    readonly code: UrlFetchFailureCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** One address a host name resolves to, as `dns.lookup` with `all: true` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has; a rejection means "no such host". */
export type ResolveHost = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface UrlFetchOptions {
  /**
   * `URL_FETCH_ALLOW_HOSTS`: host names, addresses or CIDRs allowed despite the rules (see
   * `allow-list.ts` for how names and addresses combine). Parsed once per array.
   */
  allowHosts: readonly string[];
  /** The whole fetch (connect, redirects, body) must end within this. */
  timeoutMs: number;
  /** A body larger than this is `too_large` (counted as it arrives). */
  maxBytes: number;
  /** Default 5. */
  maxRedirects?: number;
  /**
   * The resolver used for checking *and* connecting (default: the system's, `dns.lookup`).
   * Tests inject one to simulate DNS rebinding.
   */
  resolveHost?: ResolveHost;
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
