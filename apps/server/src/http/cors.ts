import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * Cross-origin access for the origins of `CORS_ORIGINS` only. A listed origin's preflight is
 * answered (with the headers and methods a client of this API sends), and its responses expose
 * the headers it reads. Any other origin — and a request without one — gets no CORS header at
 * all, and its `OPTIONS` falls through to the host's 404 or 405. No origins: nothing installed.
 */
export async function installCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  await app.register(cors, {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      if (origin === undefined || !allowed.has(origin)) {
        callback(null, { origin: false });
        return;
      }
      callback(null, {
        origin,
        // Only a real preflight is answered here; a bare OPTIONS is the host's 405.
        preflight:
          request.method === 'OPTIONS' && 'access-control-request-method' in request.headers,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        exposedHeaders: ['Location', 'Retry-After', 'X-Request-Id'],
        maxAge: 600,
      });
    },
  });
}
