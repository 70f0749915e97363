import { type AppRouter, appRouter } from '@personas/contracts';
import type { FastifyInstance } from 'fastify';
import { type CreateOpenApiFastifyPluginOptions, fastifyTRPCOpenApiPlugin } from 'trpc-to-openapi';
import type { createContextFactory } from './context';
import { errorBodyFromAdapter } from './error-body';
import { retryAfterHeaders } from './retry-after-headers';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** REST under /api, served by the same procedures as tRPC, described by /openapi.json. */
export async function registerRestTransport(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
): Promise<void> {
  await app.register(async (api) => {
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
    const options: CreateOpenApiFastifyPluginOptions<AppRouter> = {
      basePath: '/api',
      router: appRouter,
      createContext,
      responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          api.log.error({ err: error.cause ?? error, procedure: path }, 'procedure failed');
        }
      },
    };
    await api.register(fastifyTRPCOpenApiPlugin, options);
  });
}
