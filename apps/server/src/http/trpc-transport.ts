import { type AppRouter, appRouter } from '@personas/contracts';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import type { FastifyInstance } from 'fastify';
import type { createContextFactory } from './context';
import { retryAfterHeaders } from './retry-after-headers';
import { tokenResponseHeaders } from './security-headers';

/** tRPC at /trpc (batching on) for the typed client and the SDK. */
export async function registerTrpcTransport(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
): Promise<void> {
  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext,
      allowBatching: true,
      // tRPC's own `Vary` replaces the one CORS set on the reply: keep `Origin` in it, so no
      // shared cache hands a response meant for one origin to another.
      responseMeta: ({ errors, paths }) => ({
        headers: { vary: 'Origin', ...retryAfterHeaders(errors), ...tokenResponseHeaders(paths) },
      }),
      onError: ({ error, path, req }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          req.log.error({ err: error.cause ?? error, procedure: path }, 'procedure failed');
        }
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });
}
