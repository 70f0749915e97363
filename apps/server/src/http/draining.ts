import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-body';

/**
 * While the server drains (SIGTERM: `close()` answers what is in flight), a request that still
 * reaches it — pipelined on a busy connection — is turned away with our own 503, a problem body
 * with `Retry-After` and `Connection: close`, instead of Fastify's built-in reply in its own shape
 * (`return503OnClosing`, which app.ts turns off). Draining starts with Fastify's `preClose`.
 */
export function installDrainingRefusal(
  app: FastifyInstance,
  isDraining: () => boolean = drainingOf(app),
): void {
  app.addHook('onRequest', async (_request, reply) => {
    if (!isDraining()) return;
    return reply
      .code(503)
      .headers({ 'retry-after': '1', connection: 'close' })
      .send(
        errorBody('SERVICE_UNAVAILABLE', 'The server is shutting down; retry shortly', {
          reason: 'shutting_down',
        }),
      );
  });
}

/** Whether `app` has begun to close. */
function drainingOf(app: FastifyInstance): () => boolean {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  return () => draining;
}
