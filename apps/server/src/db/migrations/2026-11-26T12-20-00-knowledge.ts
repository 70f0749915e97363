import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('collections')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('owner_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('visibility', 'text', (c) =>
      c.notNull().defaultTo('private').check(sql`visibility in ('private', 'shared')`),
    )
    .addColumn('embedding_model', 'text', (c) => c.notNull())
    .addColumn('dimensions', 'integer', (c) => c.notNull().check(sql`dimensions > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('collections_owner_id')
    .on('collections')
    .column('owner_id')
    .execute();

  await db.schema
    .createTable('documents')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('collection_id', 'uuid', (c) =>
      c.notNull().references('collections.id').onDelete('cascade'),
    )
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('doc_path', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('content_sha256', 'text', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('chunk_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('documents_collection_id')
    .on('documents')
    .column('collection_id')
    .execute();

  // The source of truth for retrieval: every chunk with its (L2-normalized) embedding. The id is
  // the label of the chunk's point in its collection's HNSW index.
  await db.schema
    .createTable('chunks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('collection_id', 'uuid', (c) =>
      c.notNull().references('collections.id').onDelete('cascade'),
    )
    .addColumn('document_id', 'uuid', (c) =>
      c.notNull().references('documents.id').onDelete('cascade'),
    )
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('heading_path', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('text', 'text', (c) => c.notNull())
    // Little-endian float32s (see collections/vector-codec.ts): compact and fast to write.
    .addColumn('embedding', 'bytea', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('chunks_collection_id')
    .on('chunks')
    .columns(['collection_id', 'id'])
    .execute();
  await db.schema.createIndex('chunks_document_id').on('chunks').column('document_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['chunks', 'documents', 'collections']) {
    await db.schema.dropTable(table).execute();
  }
}
