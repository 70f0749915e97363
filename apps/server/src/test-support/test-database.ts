import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connectDatabase, type DatabaseKind, type Db } from '../db/connect';
import type { Database } from '../db/schema';
import { createLogger } from '../logger';

export interface TestDatabase extends AsyncDisposable {
  db: Db;
  kind: DatabaseKind;
  /** A postgres:// URL for this database (null on PGlite), for tests that start a real process. */
  url: string | null;
}

/** The Postgres server tests may create databases on (`TEST_DATABASE_URL`), or null for none. */
export function testDatabaseServerUrl(): string | null {
  return process.env.TEST_DATABASE_URL || null;
}

/**
 * A fresh, empty database for one test file: an in-memory PGlite by default, or — when
 * TEST_DATABASE_URL names a Postgres server — a database created for this file and dropped after,
 * so parallel runs never collide.
 */
export async function openTestDatabase(
  opts: { kind?: 'configured' | 'pglite' } = {},
): Promise<TestDatabase> {
  const serverUrl = opts.kind === 'pglite' ? null : testDatabaseServerUrl();
  // Connection failures in a test are worth seeing; nothing else logs at warn.
  const logger = createLogger('warn');
  if (!serverUrl) {
    const { db, kind } = await connectDatabase({ databaseUrl: null, dataDir: null }, logger);
    return { db, kind, url: null, [Symbol.asyncDispose]: () => db.destroy() };
  }
  const name = `personas_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl, max: 1 }) }),
  });
  await sql`create database ${sql.id(name)}`.execute(admin);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const { db, kind } = await connectDatabase(
    { databaseUrl: url.toString(), dataDir: null },
    logger,
  );
  return {
    db,
    kind,
    url: url.toString(),
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await sql`drop database if exists ${sql.id(name)} with (force)`.execute(admin);
      await admin.destroy();
    },
  };
}

export type { Database };
