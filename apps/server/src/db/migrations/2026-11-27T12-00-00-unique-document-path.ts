import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * At most one document per (collection, doc_path), kept by the database rather than by a lock in
 * one process. doc_path '' means "no path": such documents are never replaced, so the index is
 * partial. Duplicates that a race left behind go first: the newest of each (by created_at, then
 * id) is the one a reader would have been given last; their chunks go with them by cascade.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    delete from documents as older
    using documents as newer
    where newer.collection_id = older.collection_id
      and newer.doc_path = older.doc_path
      and older.doc_path <> ''
      and (newer.created_at, newer.id) > (older.created_at, older.id)
  `.execute(db);
  await db.schema
    .createIndex('documents_collection_id_doc_path')
    .on('documents')
    .columns(['collection_id', 'doc_path'])
    .unique()
    .where(sql.ref('doc_path'), '<>', '')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('documents_collection_id_doc_path').execute();
}
