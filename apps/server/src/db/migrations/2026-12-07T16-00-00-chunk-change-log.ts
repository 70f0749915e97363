import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * The log every server process follows to keep its in-memory indexes equal to the chunks table:
 * one row per statement that added or deleted chunks (per collection), and one per deleted
 * collection. Triggers write it, so it is in the same transaction as the change whatever made it
 * (an upload, a replacement, a collection or user deletion by cascade, the CLI), and they send a
 * NOTIFY on `chunk_changes` — delivered at commit, a wake-up only.
 *
 * The position is `xid`, the writing transaction's 64-bit id, not `id`: ids are taken in
 * statement order but commit in any order, so a reader that remembered "the last id I saw" could
 * skip a row committed late. A reader instead remembers `pg_snapshot_xmin(pg_current_snapshot())`:
 * every transaction below it has ended, so no row below it can still appear.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chunk_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('xid', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    // No foreign key: the row that says a collection was deleted outlives the collection.
    .addColumn('collection_id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('add', 'remove', 'drop')`))
    .addColumn('chunk_ids', sql`bigint[]`, (c) => c.notNull().defaultTo(sql`'{}'::bigint[]`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('chunk_changes_xid')
    .on('chunk_changes')
    .columns(['xid', 'id'])
    .execute();
  await db.schema
    .createIndex('chunk_changes_created_at')
    .on('chunk_changes')
    .column('created_at')
    .execute();

  // Statement-level with transition tables: one log row per statement and collection (an upload
  // inserts its chunks 50 to a statement), not one per chunk.
  await sql`
    create function chunk_changes_added() returns trigger language plpgsql as $$
    begin
      insert into chunk_changes (collection_id, kind, chunk_ids)
        select collection_id, 'add', array_agg(id order by id) from added_rows group by collection_id;
      if found then perform pg_notify('chunk_changes', ''); end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function chunk_changes_removed() returns trigger language plpgsql as $$
    begin
      insert into chunk_changes (collection_id, kind, chunk_ids)
        select collection_id, 'remove', array_agg(id order by id) from removed_rows group by collection_id;
      if found then perform pg_notify('chunk_changes', ''); end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function chunk_changes_dropped() returns trigger language plpgsql as $$
    begin
      insert into chunk_changes (collection_id, kind) select id, 'drop' from removed_rows;
      if found then perform pg_notify('chunk_changes', ''); end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger chunks_log_insert after insert on chunks
    referencing new table as added_rows
    for each statement execute function chunk_changes_added()`.execute(db);
  await sql`
    create trigger chunks_log_delete after delete on chunks
    referencing old table as removed_rows
    for each statement execute function chunk_changes_removed()`.execute(db);
  await sql`
    create trigger collections_log_delete after delete on collections
    referencing old table as removed_rows
    for each statement execute function chunk_changes_dropped()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger collections_log_delete on collections`.execute(db);
  await sql`drop trigger chunks_log_delete on chunks`.execute(db);
  await sql`drop trigger chunks_log_insert on chunks`.execute(db);
  for (const fn of ['chunk_changes_dropped', 'chunk_changes_removed', 'chunk_changes_added']) {
    await sql`drop function ${sql.id(fn)}()`.execute(db);
  }
  await db.schema.dropTable('chunk_changes').execute();
}
