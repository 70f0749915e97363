import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../env';
import type { Logger } from '../logger';
import { ClassifyingDialect } from './classifying-dialect';
import { lockDataDir } from './data-dir-lock';
import { MacrotaskYieldPlugin } from './macrotask-yield-plugin';
import type { Database } from './schema';

export type Db = Kysely<Database>;
export type DatabaseKind = 'pglite' | 'postgres';

// pg returns int8 (count(*), bigserial) as strings; PGlite returns numbers. Make pg agree.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/**
 * A connection attempt that takes longer fails (and the request answers 503): a dead server whose
 * packets vanish would otherwise hold every request until the operating system gives up.
 */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Connections a process keeps at most: Postgres' default allows 100 over all its clients. */
export const POOL_MAX = 10;

/**
 * A pool whose lost connections are logged instead of crashing the process. pg emits a
 * connection's failure ("Connection terminated unexpectedly", a killed backend) as an `error`
 * event: on the pool while the client is idle, on the client alone while it is checked out — and
 * an `error` event nobody listens to throws. The query in flight fails by itself, and the pool
 * discards the broken client when it is released, so the next query gets a fresh connection.
 */
export function createPostgresPool(connectionString: string, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Idle connections to a server that restarted are dead: closing them after a while means
    // fewer of them to find broken (each fails once, as an idle `error`, and is replaced).
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => {
    logger.warn({ err }, 'an idle database connection failed; the pool replaces it');
  });
  // Listening only while checked out: while idle, the pool's own listener reports it (above).
  const onCheckedOutError = (err: Error) => {
    logger.warn({ err }, 'a database connection failed while in use; the pool replaces it');
  };
  pool.on('acquire', (client) => client.on('error', onCheckedOutError));
  pool.on('release', (_err, client) => client.off('error', onCheckedOutError));
  return pool;
}

/**
 * Opens the configured database: a real Postgres when `databaseUrl` is set, otherwise the embedded
 * PGlite stored under `dataDir/pglite` (or in memory for `dataDir: null`, used by tests).
 */
export async function connectDatabase(
  config: Pick<Config, 'databaseUrl'> & { dataDir: string | null },
  logger: Logger,
): Promise<{ db: Db; kind: DatabaseKind; pool?: pg.Pool }> {
  if (config.databaseUrl) {
    const pool = createPostgresPool(config.databaseUrl, logger);
    return {
      db: new Kysely<Database>({ dialect: new ClassifyingDialect(new PostgresDialect({ pool })) }),
      kind: 'postgres',
      pool,
    };
  }
  let dataDir: string | undefined;
  let unlock = async () => {};
  if (config.dataDir) {
    dataDir = path.join(config.dataDir, 'pglite');
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir ? { dataDir } : {});
  } catch (error) {
    await unlock();
    throw error;
  }
  // Kysely's PGlite adapter declares a single connection, so Kysely hands it to one holder at a
  // time: a transaction keeps it from BEGIN to COMMIT and concurrent work waits (see the
  // transactions test). `kysely-pglite` lacks this and interleaves transactions: don't use it.
  const db = new Kysely<Database>({
    dialect: new PGliteDialect({ pglite }),
    plugins: [new MacrotaskYieldPlugin()],
  });
  return { db: releaseOnDestroy(db, unlock), kind: 'pglite' };
}

/** Runs `release` after the database has closed, however `destroy` is reached. */
function releaseOnDestroy(db: Db, release: () => Promise<void>): Db {
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    await destroy();
    await release();
  };
  return db;
}
