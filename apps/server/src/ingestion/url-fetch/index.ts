/**
 * Fetching a document from a URL on a user's behalf, without becoming a way into the server's own
 * network (SSRF): API.md "Documents as people have them" gives the address rules;
 * `address-rules.ts` says exactly which ranges are refused and why.
 */
export { blockedRange, parseIpLiteral } from './address-rules';
export { type AllowList, InvalidAllowListEntry, parseAllowList } from './allow-list';
export { checkUrl } from './check-url';
export { fetchDocumentUrl } from './fetcher';
export {
  type FetchedDocument,
  type ResolvedAddress,
  type ResolveHost,
  UrlFetchError,
  type UrlFetchFailureCode,
  type UrlFetchOptions,
} from './types';
