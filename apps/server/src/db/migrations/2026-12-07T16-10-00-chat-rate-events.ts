import type { Kysely } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * The chat rate limit's sliding window, in the database so every server process counts the same
 * messages: one row per accepted chat message, deleted once it has left the window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chat_rate_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('rate_key', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('chat_rate_events_key_at')
    .on('chat_rate_events')
    .columns(['rate_key', 'at'])
    .execute();
  await db.schema.createIndex('chat_rate_events_at').on('chat_rate_events').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('chat_rate_events').execute();
}
