import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('personas')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('system_prompt', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('temperature', 'double precision', (c) =>
      c.notNull().check(sql`temperature >= 0 and temperature <= 2`),
    )
    .addColumn('visibility', 'text', (c) =>
      c.notNull().defaultTo('public').check(sql`visibility in ('public', 'private')`),
    )
    .addColumn('query_metric', 'text', (c) =>
      c.notNull().check(sql`query_metric in ('cosine', 'euclidean')`),
    )
    .addColumn('query_threshold', 'double precision', (c) => c.notNull())
    .addColumn('top_k', 'integer', (c) => c.notNull().check(sql`top_k between 1 and 20`))
    .addColumn('rag_mode', 'text', (c) => c.notNull().check(sql`rag_mode in ('hybrid', 'vector')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('personas_creator_id').on('personas').column('creator_id').execute();

  // A join table rather than an array of names: deleting a collection drops it from every persona
  // by cascade, and renaming can never leave a dangling name.
  await db.schema
    .createTable('persona_collections')
    .addColumn('persona_id', 'uuid', (c) =>
      c.notNull().references('personas.id').onDelete('cascade'),
    )
    .addColumn('collection_id', 'uuid', (c) =>
      c.notNull().references('collections.id').onDelete('cascade'),
    )
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('persona_collections_pk', ['persona_id', 'collection_id'])
    .execute();
  await db.schema
    .createIndex('persona_collections_collection_id')
    .on('persona_collections')
    .column('collection_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('persona_collections').execute();
  await db.schema.dropTable('personas').execute();
}
