import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * Throttles per client address, kept in the database so every server process counts the same:
 * the address each failed login came from (null on rows older than this migration; they leave
 * the window soon), and one row per account created, with the address it was created from.
 * Both are trimmed by age.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('login_failures').addColumn('address', 'text').execute();
  await db.schema
    .createIndex('login_failures_address_time')
    .on('login_failures')
    .columns(['address', 'failed_at'])
    .execute();

  await db.schema
    .createTable('registrations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('registrations_address_time')
    .on('registrations')
    .columns(['address', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registrations').execute();
  await db.schema.dropIndex('login_failures_address_time').execute();
  await db.schema.alterTable('login_failures').dropColumn('address').execute();
}
