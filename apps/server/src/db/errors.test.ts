import { createServer } from 'node:net';
import { ServiceUnavailableError } from '@personas/contracts';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { connectDatabase } from './connect';
import { DatabaseUnavailableError, isConnectionFailure } from './errors';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isConnectionFailure', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset socket', withCode('ECONNRESET')],
    ['a connect timeout', withCode('ETIMEDOUT')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['pg-pool waiting too long', new Error('timeout exceeded when trying to connect')],
    ['a connection exception (class 08)', withCode('08006')],
    ['admin shutdown', withCode('57P01')],
    ['crash shutdown', withCode('57P02')],
    ['cannot connect now', withCode('57P03', 'the database system is starting up')],
    ['a refusal wrapped in an AggregateError', new AggregateError([withCode('ECONNREFUSED')])],
    ['a refusal as a cause', new Error('wrapped', { cause: withCode('ECONNREFUSED') })],
  ])('recognises %s', (_name, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a syntax error', withCode('42601')],
    ['a plain error', new Error('boom')],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('leaves %s alone', (_name, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

/** A port where nothing listens: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

describe('a Postgres database that cannot be reached', () => {
  it('fails each query with DatabaseUnavailableError (a 503 with Retry-After), the driver error as cause', async () => {
    const port = await closedPort();
    const { db } = await connectDatabase(
      { databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir: null },
      createLogger('silent'),
    );
    try {
      const query = sql`select 1`.execute(db);
      await expect(query).rejects.toBeInstanceOf(DatabaseUnavailableError);
      const error = (await query.catch((e: unknown) => e)) as DatabaseUnavailableError;
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 });
      expect(isConnectionFailure(error.cause)).toBe(true);
      // A transaction fails the same way, at BEGIN.
      await expect(
        db.transaction().execute((trx) => sql`select 1`.execute(trx)),
      ).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await db.destroy();
    }
  });
});
