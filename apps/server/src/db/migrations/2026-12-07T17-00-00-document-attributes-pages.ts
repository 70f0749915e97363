import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * Where a hit came from and what it is about: a document's `attributes` (a flat JSON object that
 * search and personas filter by) and a chunk's `page` (1-based, PDFs; null for other formats).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('documents')
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.alterTable('chunks').addColumn('page', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('chunks').dropColumn('page').execute();
  await db.schema.alterTable('documents').dropColumn('attributes').execute();
}
