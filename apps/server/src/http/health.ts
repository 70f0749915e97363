import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/connect';
import { DATABASE_RETRY_AFTER_SECONDS } from '../db/errors';
import { pingDatabase } from '../db/ping';
import type { OpenReport } from '../retrieval/vector/vector-index-store';
import { errorBody } from './error-body';

/**
 * `/healthz`: the process answers. `/readyz`: the database answers too, and the vector indexes
 * (verified or rebuilt before the server listens) are reported by what happened to them.
 */
export function registerHealth(app: FastifyInstance, db: Db, indexes: OpenReport): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    try {
      await pingDatabase(db);
      return {
        status: 'ready',
        vector_indexes: { loaded: indexes.loaded.length, rebuilt: indexes.rebuilt.length },
      };
    } catch (err) {
      request.log.warn({ err }, 'database not reachable');
      return reply
        .code(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
        .send(
          errorBody('SERVICE_UNAVAILABLE', 'Database is not reachable', {
            reason: 'database_unreachable',
          }),
        );
    }
  });
}
