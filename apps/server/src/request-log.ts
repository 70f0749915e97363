import type { IncomingHttpHeaders } from 'node:http';

const REDACTED = '[Redacted]';

/**
 * A URL as a log line may show it: the path, and `?[Redacted]` in place of any query. A query
 * string carries whatever a client put there — a tRPC GET's whole input (`?input={…}`), a
 * `?token=`, a cursor — and the host cannot tell a secret from the rest, so none of it is
 * logged, not even its parameter names (a bare `?<secret>` is a name). The path stays: it says
 * which route, and tRPC procedure, served the request.
 *
 * @example urlForLogs('/trpc/collections.list?input=%7B%7D') // '/trpc/collections.list?[Redacted]'
 */
export function urlForLogs(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : `${url.slice(0, end)}?${REDACTED}`;
}

/** A Fastify request, or the Node request under it: what either may say about itself. */
interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: IncomingHttpHeaders;
  socket?: { remoteAddress?: string; remotePort?: number } | null;
}

/** What a log line says of a request: never a header (a token) or the query (see urlForLogs). */
export interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  remoteAddress?: string;
  remotePort?: number;
}

/**
 * The `req` serializer of every log line: Fastify's own fields (method, url, host, client
 * address), the URL without its query. It replaces Fastify's, which logs the URL as received.
 */
export function requestForLogs(req: RequestLike): LoggedRequest {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : urlForLogs(req.url),
    host: req.host ?? req.headers?.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}
