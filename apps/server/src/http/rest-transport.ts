import { type AppRouter, appRouter } from '@personas/contracts';
import type { FastifyInstance } from 'fastify';
import {
  type CreateOpenApiFastifyPluginOptions,
  fastifyTRPCOpenApiPlugin,
  type OpenApiMeta,
} from 'trpc-to-openapi';
import type { createContextFactory } from './context';
import { errorBodyFromAdapter } from './error-body';
import { refuseNonJsonBody } from './json-bodies';
import type { KnownRoutes } from './known-routes';
import { retryAfterHeaders } from './retry-after-headers';
import { tokenResponseHeaders } from './security-headers';

const BASE_PATH = '/api';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The REST operations the procedures declare, as `[path, methods]` under the base path. */
function restOperations(): Map<string, string[]> {
  const operations = new Map<string, string[]>();
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { meta?: unknown } }
  >;
  for (const { _def } of Object.values(procedures)) {
    const openapi = (_def.meta as OpenApiMeta | undefined)?.openapi;
    if (!openapi) continue;
    const path = `${BASE_PATH}${openapi.path}`;
    operations.set(path, [...(operations.get(path) ?? []), openapi.method]);
  }
  return operations;
}

/**
 * REST under /api, served by the same procedures as tRPC, described by /openapi.json. Its
 * operations join `routes`, so a wrong method on one of their paths is the host's 405.
 */
export async function registerRestTransport(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
  routes: KnownRoutes,
): Promise<void> {
  for (const [path, methods] of restOperations()) routes.add(path, methods);
  await app.register(async (api) => {
    // The adapter's catch-all takes every method on every path; one no operation serves goes to
    // the host's not-found handler (404, or 405 with Allow), not into the adapter's own 404.
    api.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      // HEAD is GET without the body (RFC 9110 §9.3.2): the adapter knows no HEAD and would
      // answer every one 204, unauthenticated. Node sends no body for a HEAD request itself.
      if (request.method === 'HEAD' && routes.serves('GET', path)) request.raw.method = 'GET';
      if (!routes.serves(request.method, path)) return reply.callNotFound();
      return refuseNonJsonBody(request, reply);
    });
    // A body-less POST/DELETE (logout, delete a key) is an empty JSON object, not a 415.
    api.addHook('preHandler', async (request) => {
      if (BODY_METHODS.has(request.method) && request.body === undefined) {
        request.headers['content-type'] = 'application/json';
        request.body = {};
      }
    });
    // The adapter answers errors as `{message, code, data, issues}`; ours are `{detail, code}`.
    api.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
      try {
        return JSON.stringify(errorBodyFromAdapter(JSON.parse(payload)));
      } catch {
        return payload;
      }
    });
    // The adapter answers through `reply.send` but its handler resolves with nothing; while the
    // async onSend hooks still run, Fastify reads that as "nothing sent" and sends again. The
    // second write fails (ERR_HTTP_HEADERS_SENT), and a request that answered fine is logged as
    // a 500 with a warning quoting its URL, query string and all. Returning the reply says it is
    // answered (the adapter answers every request it is handed, or throws).
    api.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = async function (request, reply) {
        await handler.call(this, request, reply);
        return reply;
      };
    });
    const options: CreateOpenApiFastifyPluginOptions<AppRouter> = {
      basePath: BASE_PATH,
      router: appRouter,
      createContext,
      responseMeta: ({ errors, paths }) => ({
        headers: { ...retryAfterHeaders(errors), ...tokenResponseHeaders(paths) },
      }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          api.log.error({ err: error.cause ?? error, procedure: path }, 'procedure failed');
        }
      },
    };
    await api.register(fastifyTRPCOpenApiPlugin, options);
  });
}
