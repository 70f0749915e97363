import type { FastifyInstance } from 'fastify';

/** The procedures whose success carries a bearer token (a session or a new API key). */
const TOKEN_PROCEDURES = new Set(['auth.register', 'auth.login', 'auth.createApiKey']);

/**
 * `/docs` is Swagger UI from local assets only: its scripts and styles are files of this server
 * (its initialiser too), it fetches `/openapi.json` and sends "Try it out" requests here, and
 * draws its icons from `data:` URLs. Swagger UI sets inline `style` attributes, hence
 * `'unsafe-inline'` for styles only. It may not be framed (clickjacking of "Authorize").
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** What every response carries: no content sniffing (a JSON error is never rendered as HTML). */
export const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff' } as const;

const DOCS_PATH = /^\/docs(\/|\?|$)/;

/**
 * The contract's security headers: `X-Content-Type-Options: nosniff` on every response, and on
 * `/docs` a Content-Security-Policy and no framing. Set when the request arrives, so that errors
 * and the hijacked SSE stream (which copies the reply's headers) carry them too.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (DOCS_PATH.test(request.url)) {
      void reply.header('content-security-policy', DOCS_CSP).header('x-frame-options', 'DENY');
    }
  });
}

/**
 * `Cache-Control: no-store` for a response of a procedure that hands out a token, so no cache
 * between client and server keeps it; for both transports' `responseMeta` (a tRPC batch holding
 * one such call counts).
 */
export function tokenResponseHeaders(paths: readonly string[] | undefined): Record<string, string> {
  return paths?.some((path) => TOKEN_PROCEDURES.has(path)) ? { 'cache-control': 'no-store' } : {};
}
