import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * Documents become durable ingestion jobs. The job lives on the document row itself (status,
 * lease, attempts): a job and its document are born and deleted together, so deleting a document
 * is what cancels its job, with no second table to keep in step. The uploaded bytes wait in
 * `document_sources` until the document is ready (kept for a failed one, so retry needs no
 * re-upload), and go with the document by cascade.
 *
 * Existing rows were stored whole, so they are `ready`. Only ready documents hold a path
 * uniquely: a queued or failed upload of a path sits beside the ready one it will replace.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('documents')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('ready'))
    .addColumn('error_code', 'text')
    .addColumn('error_detail', 'text')
    .addColumn('pages', 'integer')
    .addColumn('chunks_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_total', 'integer')
    .addColumn('source_url', 'text')
    .addColumn('declared_type', 'text')
    .addColumn('uploaded_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`alter table documents add constraint documents_status_check
    check (status in ('queued', 'processing', 'ready', 'failed'))`.execute(db);
  // New rows name their status; the default above only made existing rows `ready`.
  await sql`alter table documents alter column status set default 'queued'`.execute(db);
  await db.schema.dropIndex('documents_collection_id_doc_path').execute();
  await db.schema
    .createIndex('documents_collection_id_doc_path')
    .on('documents')
    .columns(['collection_id', 'doc_path'])
    .unique()
    .where(sql<boolean>`status = 'ready' and doc_path <> ''`)
    .execute();
  // What the job runners claim from: the unfinished documents, oldest first.
  await db.schema
    .createIndex('documents_unfinished')
    .on('documents')
    .columns(['created_at', 'id'])
    .where(sql<boolean>`status in ('queued', 'processing')`)
    .execute();
  // The bytes in parts: the embedded database runs each statement on the event loop, and one
  // 2 MB value written, read or deleted in one statement held it for up to ~0.7 s; parts of
  // 256 KiB give other requests a turn between statements.
  await db.schema
    .createTable('document_sources')
    .addColumn('document_id', 'uuid', (c) =>
      c.notNull().references('documents.id').onDelete('cascade'),
    )
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('document_sources_pkey', ['document_id', 'part'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('document_sources').execute();
  await db.schema.dropIndex('documents_unfinished').execute();
  await sql`delete from documents where status <> 'ready'`.execute(db);
  await db.schema.dropIndex('documents_collection_id_doc_path').execute();
  await db.schema
    .createIndex('documents_collection_id_doc_path')
    .on('documents')
    .columns(['collection_id', 'doc_path'])
    .unique()
    .where(sql.ref('doc_path'), '<>', '')
    .execute();
  await sql`alter table documents drop constraint documents_status_check`.execute(db);
  await db.schema
    .alterTable('documents')
    .dropColumn('status')
    .dropColumn('error_code')
    .dropColumn('error_detail')
    .dropColumn('pages')
    .dropColumn('chunks_done')
    .dropColumn('chunks_total')
    .dropColumn('source_url')
    .dropColumn('declared_type')
    .dropColumn('uploaded_by')
    .dropColumn('attempts')
    .dropColumn('lease_owner')
    .dropColumn('lease_expires_at')
    .dropColumn('updated_at')
    .execute();
}
