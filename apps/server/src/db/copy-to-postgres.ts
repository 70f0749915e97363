import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Logger } from '../logger';
import { connectDatabase, type Db } from './connect';
import { CopyRefused, type CopySummary, copyDatabase } from './copy-database';
import { migrateToLatest } from './migrate';

/**
 * Moves an installation from the embedded database to Postgres: opens `dataDir/pglite` (locked
 * like the server does, so never while a server holds it), brings it and the target to the
 * latest schema, and copies every row across (see `copyDatabase`). The source is only read.
 */
export async function copyToPostgres(
  opts: { dataDir: string; to: string; batchRows?: number },
  logger: Logger,
): Promise<CopySummary> {
  // Opening a directory that holds no database would create an empty one and copy nothing.
  if (!existsSync(path.join(opts.dataDir, 'pglite', 'PG_VERSION'))) {
    throw new CopyRefused(
      `No embedded database in ${path.join(opts.dataDir, 'pglite')}: name the server's DATA_DIR ` +
        'with --from-data-dir',
    );
  }
  const { db: source } = await connectDatabase(
    { databaseUrl: null, dataDir: opts.dataDir },
    logger,
  );
  try {
    const { db: target } = await connectDatabase({ databaseUrl: opts.to, dataDir: null }, logger);
    try {
      await refuseForeignTables(target);
      // As the server does at start: a data directory from an older version is migrated first.
      await migrateToLatest(source);
      await migrateToLatest(target);
      return await copyDatabase(source, target, { batchRows: opts.batchRows });
    } finally {
      await target.destroy();
    }
  } finally {
    await source.destroy();
  }
}

/** A database with tables but no migrations of ours belongs to something else: leave it be. */
async function refuseForeignTables(db: Db): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
    order by c.relname
  `.execute(db);
  const names = rows.map((r) => r.name);
  if (names.length > 0 && !names.includes('kysely_migration')) {
    throw new CopyRefused(
      `The target database holds tables that are not Personas' (${names.slice(0, 5).join(', ')}` +
        `${names.length > 5 ? ', …' : ''}): copy into a new, empty database (createdb …)`,
    );
  }
}
