import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * `Idempotency-Key`s, kept in the database so every server process of a deployment sees them:
 * one row per (caller, key), claimed `in_flight` by the first request (the unique key makes the
 * claim atomic across processes) and `done` with its 2xx answer. Trimmed by age.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('caller', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('in_flight', 'done')`))
    .addColumn('status', 'integer')
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['caller', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_created_at')
    .on('idempotency_keys')
    .column('created_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
