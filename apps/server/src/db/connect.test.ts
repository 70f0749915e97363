import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { testDatabaseServerUrl } from '../test-support/test-database';
import { createPostgresPool } from './connect';

const serverUrl = testDatabaseServerUrl();

/** A logger whose lines the test can wait for. */
function recordingLogger() {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const waiters: (() => void)[] = [];
  const logger = createLogger('warn', {
    write(line: string) {
      lines.push(JSON.parse(line));
      for (const wake of waiters.splice(0)) wake();
    },
  });
  /** Resolves once `count` lines were logged; the test's timeout bounds the wait. */
  const logged = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (lines.length >= count ? resolve() : waiters.push(check));
      check();
    });
  return { logger, lines, logged };
}

// A real server is needed to lose a connection: skipped on PGlite, run with TEST_DATABASE_URL.
describe.skipIf(!serverUrl)('a Postgres pool whose connection is killed', () => {
  const name = `personas_pool_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let url: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serverUrl! });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const parsed = new URL(serverUrl!);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
  });

  afterAll(async () => {
    await admin?.query(`drop database if exists "${name}" with (force)`);
    await admin?.end();
  });

  const backendPid = async (client: pg.PoolClient) =>
    (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

  it('survives losing a checked-out client, logs it, and serves the next query', async () => {
    const { logger, lines, logged } = recordingLogger();
    const pool = createPostgresPool(url, logger);
    try {
      const client = await pool.connect();
      await admin.query('select pg_terminate_backend($1)', [await backendPid(client)]);
      // Without a listener on the checked-out client this 'error' event would crash the process
      // ("Unhandled 'error' event … terminating connection due to administrator command").
      await logged(1);
      expect(lines[0]).toMatchObject({ level: 40, msg: expect.stringMatching(/while in use/) });
      expect(lines[0]!.err?.message).toMatch(/terminat/);
      client.release();

      const { rows } = await pool.query<{ one: number }>('select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
      expect(lines).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });

  it('logs an idle client it loses, once, and serves the next query', async () => {
    const { logger, lines, logged } = recordingLogger();
    const pool = createPostgresPool(url, logger);
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      client.release();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await logged(1);
      expect(lines[0]).toMatchObject({ level: 40, msg: expect.stringMatching(/idle/) });

      const { rows } = await pool.query<{ one: number }>('select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
      expect(lines).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });
});
