import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connectDatabase, type DatabaseKind, type Db } from '../db/connect';
import type { Database } from '../db/schema';

export interface TestDatabase extends AsyncDisposable {
  db: Db;
  kind: DatabaseKind;
  /** A postgres:// URL for this database (null on PGlite), for tests that start a real process. */
  url: string | null;
}

/**
 * A fresh, empty database for one test file: an in-memory PGlite by default, or — when
 * TEST_DATABASE_URL names a Postgres server — a database created for this file and dropped after,
 * so parallel runs never collide.
 */
export async function openTestDatabase(
  opts: { kind?: 'configured' | 'pglite' } = {},
): Promise<TestDatabase> {
  const serverUrl = opts.kind === 'pglite' ? undefined : process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const { db, kind } = await connectDatabase({ databaseUrl: null, dataDir: null });
    return { db, kind, url: null, [Symbol.asyncDispose]: () => db.destroy() };
  }
  const name = `personas_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl, max: 1 }) }),
  });
  await sql`create database ${sql.id(name)}`.execute(admin);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const { db, kind } = await connectDatabase({ databaseUrl: url.toString(), dataDir: null });
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
