import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The Postgres server tests may create databases on: TEST_DATABASE_URL, else the local one. */
export const POSTGRES_SERVER_URL =
  process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why no database can be made on that server (it does not answer), or null when it can. */
export async function postgresServerUnavailable(): Promise<string | null> {
  const client = new pg.Client({
    connectionString: POSTGRES_SERVER_URL,
    connectionTimeoutMillis: 3_000,
  });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `no Postgres answers at ${POSTGRES_SERVER_URL} (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({
    connectionString: POSTGRES_SERVER_URL,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase extends AsyncDisposable {
  name: string;
  url: string;
}

/** A new, empty database on that server, dropped (connections and all) when disposed. */
export async function createScratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await onServer(`create database "${name}"`);
  const url = new URL(POSTGRES_SERVER_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async [Symbol.asyncDispose]() {
      await onServer(`drop database if exists "${name}" with (force)`);
    },
  };
}
