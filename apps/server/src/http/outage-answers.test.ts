import { createServer } from 'node:net';
import type { Services } from '@personas/contracts';
import { TRPCError } from '@trpc/server';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../db/connect';
import { DatabaseUnavailableError } from '../db/errors';
import { createLogger } from '../logger';
import { createContextFactory } from './context';
import { registerHealth } from './health';

/** A port where nothing listens: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

describe('while the database is unreachable', () => {
  it('a token cannot be resolved: the context fails as SERVICE_UNAVAILABLE, not a 500', async () => {
    const lost = new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'));
    const createContext = createContextFactory({} as Services, async () => {
      throw lost;
    });
    const failure = await createContext({
      req: { headers: { authorization: 'Bearer abc' }, ip: '127.0.0.1' },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TRPCError);
    expect(failure).toMatchObject({ code: 'SERVICE_UNAVAILABLE', cause: lost });
  });

  it('/readyz answers 503 with Retry-After and the reason', async () => {
    const port = await closedPort();
    const { db } = await connectDatabase(
      { databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir: null },
      createLogger('silent'),
    );
    const app = Fastify();
    try {
      registerHealth(app, db, {
        status: () => ({
          loading: false,
          loaded: 0,
          replayed: 0,
          rebuilt: 0,
          lexical: { loaded: 0, rebuilt: 0 },
        }),
        lag: async () => ({ changes: 0, seconds: 0 }),
      });
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBe('2');
      expect(ready.json()).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        detail: 'Database is not reachable',
        reason: 'database_unreachable',
      });
    } finally {
      await app.close();
      await db.destroy();
    }
  });
});
