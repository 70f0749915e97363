import { createHash, timingSafeEqual } from 'node:crypto';
import { appRouter } from '@personas/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody } from '../http/error-body';
import type { KnownRoutes } from '../http/known-routes';
import type { Metrics } from './metrics';

const PROCEDURES = new Set(Object.keys(appRouter._def.procedures));

/**
 * The route template a request is counted under: what Fastify matched, or for the catch-alls
 * the operation's own template (REST) or the procedure (tRPC). Never the raw URL, whose ids
 * would make a series per persona.
 */
function routeOf(request: FastifyRequest, routes: KnownRoutes): string {
  const matched = request.routeOptions.url;
  const path = request.originalUrl.split('?')[0] ?? '';
  if (matched === '/api/*') return routes.templateOf(path) ?? 'unmatched';
  if (matched === '/trpc/:path') {
    const procedure = decodeURIComponent(path.slice('/trpc/'.length));
    if (PROCEDURES.has(procedure)) return `/trpc/${procedure}`;
    return procedure.includes(',') ? '/trpc/(batch)' : 'unmatched';
  }
  // Our own routes (the upload, the SSE chat) spelled as the document spells them: `{name}`.
  return matched?.replace(/:(\w+)/g, '{$1}') ?? 'unmatched';
}

/** Compared in constant time (as digests, so the lengths never differ). */
function sameSecret(sent: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

/** Counts and times every answered request, by route template, method and status. */
export function installHttpMetrics(app: FastifyInstance, metrics: Metrics, routes: KnownRoutes) {
  // Fastify reads `originalUrl` lazily from `raw.url`, which the REST adapter rewrites to drop
  // its prefix: read once here, before any handler, it keeps the path as it was asked.
  app.addHook('onRequest', async (request) => {
    void request.originalUrl;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request, routes);
    const method = request.method;
    metrics.httpRequests.inc({ route, method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method }, reply.elapsedTime / 1000);
  });
}

/**
 * `GET /metrics` in Prometheus's text format; with `METRICS_TOKEN` set, only for
 * `Authorization: Bearer <that token>` (a scraper's credentials, not a user's).
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  token: string | null,
): void {
  app.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
    if (token !== null && !sameSecret(request.headers.authorization ?? '', `Bearer ${token}`)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody('UNAUTHORIZED', 'Send the METRICS_TOKEN as a Bearer token'));
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
