import type { Kysely } from 'kysely';
import {
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
} from 'kysely/migration';
import * as appMeta from './migrations/2026-11-26T12-00-00-app-meta';
import * as auth from './migrations/2026-11-26T12-10-00-auth';
import * as knowledge from './migrations/2026-11-26T12-20-00-knowledge';
import * as personas from './migrations/2026-11-26T12-30-00-personas';
import * as chat from './migrations/2026-11-26T12-40-00-chat';
import * as uniqueDocumentPath from './migrations/2026-11-27T12-00-00-unique-document-path';
import * as listKeysetIndexes from './migrations/2026-12-02T00-50-00-list-keyset-indexes';
import * as idempotencyKeys from './migrations/2026-12-07T12-00-00-idempotency-keys';
import * as addressThrottles from './migrations/2026-12-07T13-00-00-address-throttles';
import * as governance from './migrations/2026-12-07T15-00-00-governance';
import * as chunkChangeLog from './migrations/2026-12-07T16-00-00-chunk-change-log';
import * as chatRateEvents from './migrations/2026-12-07T16-10-00-chat-rate-events';
import * as documentAttributesPages from './migrations/2026-12-07T17-00-00-document-attributes-pages';
import * as ingestionJobs from './migrations/2026-12-07T17-10-00-ingestion-jobs';
import * as personaRagFilter from './migrations/2026-12-07T17-45-00-persona-rag-filter';

/**
 * Migrations are listed here rather than read from a folder at run time, so they work the same
 * under tsx, a bundle or a test runner. Names sort in the order they must run.
 */
const migrations: Record<string, Migration> = {
  '2026-11-26T12-00-00-app-meta': appMeta,
  '2026-11-26T12-10-00-auth': auth,
  '2026-11-26T12-20-00-knowledge': knowledge,
  '2026-11-26T12-30-00-personas': personas,
  '2026-11-26T12-40-00-chat': chat,
  '2026-11-27T12-00-00-unique-document-path': uniqueDocumentPath,
  '2026-12-02T00-50-00-list-keyset-indexes': listKeysetIndexes,
  '2026-12-07T12-00-00-idempotency-keys': idempotencyKeys,
  '2026-12-07T13-00-00-address-throttles': addressThrottles,
  '2026-12-07T15-00-00-governance': governance,
  '2026-12-07T16-00-00-chunk-change-log': chunkChangeLog,
  '2026-12-07T16-10-00-chat-rate-events': chatRateEvents,
  '2026-12-07T17-00-00-document-attributes-pages': documentAttributesPages,
  '2026-12-07T17-10-00-ingestion-jobs': ingestionJobs,
  '2026-12-07T17-45-00-persona-rag-filter': personaRagFilter,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export class MigrationFailed extends Error {
  override name = 'MigrationFailed';
}

/** Brings the schema up to date; runs at every start and in every test database. */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<void> {
  await migrate(db, (migrator) => migrator.migrateToLatest());
}

/** Brings the schema to the state after migration `name` (for tests of a later migration). */
export async function migrateTo<DB>(db: Kysely<DB>, name: string): Promise<void> {
  if (!(name in migrations)) throw new MigrationFailed(`No migration named ${name}`);
  await migrate(db, (migrator) => migrator.migrateTo(name));
}

async function migrate<DB>(
  db: Kysely<DB>,
  run: (migrator: Migrator) => Promise<MigrationResultSet>,
): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const { error, results } = await run(migrator);
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new MigrationFailed(
      `Migration ${failed?.migrationName ?? '(unknown)'} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
