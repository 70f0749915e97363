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
  app.get('/readyz', { logLevel: 'error' }, async (_request, reply) => {
    const { loading, loaded, replayed, rebuilt, lexical } = indexes.status();
    const members = { vector_indexes: { loaded, rebuilt }, replayed, lexical_indexes: lexical };
    /** A 503 problem body that still says what the start found. */
    const notReady = (detail: string, reason: string, retryAfterSeconds: number) =>
      reply
        .code(503)
        .header('retry-after', String(retryAfterSeconds))
        .send({
          ...errorBody('SERVICE_UNAVAILABLE', detail, { reason }),
          status: 503,
          ...members,
          lag: null,
        });
    if (loading) {
      return notReady(
        'The search indexes are still loading',
        'indexes_loading',
        INDEXES_LOADING_RETRY_AFTER_SECONDS,
      );
    }
    try {
      await pingDatabase(db);
      return { status: 'ready', ...members, lag: await indexes.lag() };
    } catch {
      // Not logged here (the route logs errors only): the pool and every other request that
      // needed the database say so already.
      return notReady(
        'Database is not reachable',
        'database_unreachable',
        DATABASE_RETRY_AFTER_SECONDS,
      );
    }
  });
}
