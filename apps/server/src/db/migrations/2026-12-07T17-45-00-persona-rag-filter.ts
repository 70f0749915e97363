import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * A persona's retrieval filter over document attributes (`rag.filter`): a JSON object,
 * `{}` for none, so existing personas keep retrieving from every document.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('personas')
    .addColumn('rag_filter', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('personas').dropColumn('rag_filter').execute();
}
