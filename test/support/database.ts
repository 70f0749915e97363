import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerDatabase extends AsyncDisposable {
  /** Environment for `startServerProcess`: `DATABASE_URL`, or nothing for the embedded PGlite. */
  env: Record<string, string>;
  /** The database's name and the server's URL (its `postgres` database), on Postgres. */
  postgres?: { name: string; serverUrl: string };
  kind: 'pglite' | 'postgres';
}

/** Runs one statement through the `psql` client; resolves with its unaligned output. */
export async function psql(url: string, statement: string): Promise<string> {
  const { stdout } = await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', statement]);
  return stdout.trim();
}

/**
 * The database a server process under test should use: PGlite in its fresh data directory by
 * default or, when `TEST_DATABASE_URL` names a Postgres server, a database created for this test
 * file (through the `psql` client, as an operator would) and dropped when disposed.
 */
export async function serverDatabase(): Promise<ServerDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { env: {}, kind: 'pglite', async [Symbol.asyncDispose]() {} };
  const name = `personas_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  await psql(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    kind: 'postgres',
    postgres: { name, serverUrl },
    async [Symbol.asyncDispose]() {
      await psql(serverUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}
