import type { Kysely } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.

/**
 * Every list pages by keyset on its sort key, so each sort key gets an index that ends in it:
 * `where (created_at, id) > ($1, $2) order by created_at, id limit n` then reads n rows, not the
 * table. Collections page by `name` (already unique) and messages by `(history_id, seq)`
 * (already indexed).
 */
const indexes = [
  { name: 'users_created_at_id', table: 'users', columns: ['created_at', 'id'] },
  { name: 'personas_created_at_id', table: 'personas', columns: ['created_at', 'id'] },
  {
    name: 'documents_collection_created_at_id',
    table: 'documents',
    columns: ['collection_id', 'created_at', 'id'],
  },
  {
    name: 'api_keys_user_created_at_id',
    table: 'api_keys',
    columns: ['user_id', 'created_at', 'id'],
  },
  {
    name: 'message_histories_user_persona_created_id',
    table: 'message_histories',
    columns: ['user_id', 'persona_id', 'created_at', 'id'],
  },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const index of indexes) {
    await db.schema.createIndex(index.name).on(index.table).columns(index.columns).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of indexes) await db.schema.dropIndex(index.name).execute();
}
