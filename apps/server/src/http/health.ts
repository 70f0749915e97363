import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/connect';
import { DATABASE_RETRY_AFTER_SECONDS } from '../db/errors';
import { pingDatabase } from '../db/ping';
import type { IndexStatus } from '../retrieval/chunk-indexes';
import { INDEXES_LOADING_RETRY_AFTER_SECONDS } from '../retrieval/loading-indexes';
import { errorBody } from './error-body';

/** What `/readyz` reports about this process's indexes. */
export interface IndexHealth {
  status(): IndexStatus;
  /** How far the indexes are behind the change log in Postgres (reads the database); null while they load. */
  lag(): Promise<{ changes: number; seconds: number } | null>;
}

/**
 * `/healthz`: the process answers. `/readyz`: the database answers too; it reports what happened
 * to the vector indexes at start (`loaded` from their files, `rebuilt` in full, `replayed`: loaded
 * from a checkpoint and brought up to date from the change log) and `lag`, how far this process's
 * indexes are behind Postgres right now (log rows not yet applied, and the age of the oldest).
 * While a start still loads the indexes (the process listens meanwhile), `/readyz` is a 503
 * `indexes_loading`, so a load balancer sends no searches here yet.
 */
export function registerHealth(app: FastifyInstance, db: Db, indexes: IndexHealth): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  // Polled by load balancers: its 503s while the indexes load are expected, not worth a line each.
  app.get('/readyz', { logLevel: 'error' }, async (request, reply) => {
    const { loading, loaded, replayed, rebuilt, lexical } = indexes.status();
    const members = { vector_indexes: { loaded, rebuilt }, replayed, lexical_indexes: lexical };
    if (loading) {
      return reply
        .code(503)
        .header('retry-after', String(INDEXES_LOADING_RETRY_AFTER_SECONDS))
        .send({
          ...errorBody('SERVICE_UNAVAILABLE', 'The search indexes are still loading', {
            reason: 'indexes_loading',
          }),
          status: 503,
          ...members,
          lag: null,
        });
    }
    try {
      await pingDatabase(db);
      const lag = await indexes.lag();
      return { status: 'ready', ...members, lag };
    } catch (err) {
      request.log.warn({ err }, 'database not reachable');
      return reply
        .code(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
        .send({
          ...errorBody('SERVICE_UNAVAILABLE', 'Database is not reachable', {
            reason: 'database_unreachable',
          }),
          status: 503,
          ...members,
          lag: null,
        });
    }
  });
}
