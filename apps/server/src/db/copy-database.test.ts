import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { CopyRefused, copyDatabase } from './copy-database';
import { foreignKeyOrder } from './foreign-key-order';
import { migrateToLatest } from './migrate';

// The source is always PGlite (what copy-to-postgres reads); the target is Postgres when
// TEST_DATABASE_URL names a server, else a second PGlite: the copy itself is the same SQL.
let source: TestDatabase;
let target: TestDatabase;

/**
 * A table no migration has: the copy must find it in the catalog. It points at itself (rows of
 * a tree, a child stored before its parent) and has an identity column declared `always`.
 */
const LATER_TABLE = sql`
  create table later_tree (
    id bigint generated always as identity primary key,
    parent_id bigint references later_tree (id),
    note text not null
  )
`;

const USER = '00000000-0000-4000-8000-000000000001';
const COLLECTION = '00000000-0000-4000-8000-000000000002';
const DOCUMENT = '00000000-0000-4000-8000-000000000003';
const PERSONA = '00000000-0000-4000-8000-000000000004';
const HISTORY = '00000000-0000-4000-8000-000000000005';
/** Beyond 2^53: a JavaScript number would round it. */
const BIG_CHUNK_ID = '9007199254740993';

async function fill<DB>(db: Kysely<DB>): Promise<void> {
  await sql`
    insert into users (id, email, role, password_hash, created_at, updated_at)
    values (${USER}, 'ops@example.com', 'admin', '$argon2id$v=19$x',
            '2026-01-02 03:04:05.123456+00', '2026-01-02 03:04:05.999999+00')
  `.execute(db);
  await sql`
    insert into api_keys (id, user_id, name, secret_hash, scopes, persona_ids, last_used_at)
    values ('key1', ${USER}, 'ci', (select string_agg(set_byte('\\x00'::bytea, 0, b), ''::bytea)
                                    from generate_series(0, 255) as b),
            '["chat", "knowledge:read"]', '[]', '1999-12-31 23:59:59.000001+00')
  `.execute(db);
  await sql`
    insert into collections (id, name, owner_id, embedding_model, dimensions)
    values (${COLLECTION}, 'kb', ${USER}, 'offline', 2)
  `.execute(db);
  await sql`
    insert into documents (id, collection_id, file_name, doc_path, content_type, content_sha256, bytes, chunk_count)
    values (${DOCUMENT}, ${COLLECTION}, 'a.md', 'a.md', 'text/markdown', 'ab', 10, 3)
  `.execute(db);
  await sql`
    insert into chunks (collection_id, document_id, position, heading_path, text, embedding)
    select ${COLLECTION}, ${DOCUMENT}, n, array['a,b', 'say "hi"', 'back\\slash', '', null], 'text ' || n,
           '\\x0000803f00000000'::bytea
    from generate_series(1, 5) as n
  `.execute(db);
  await sql`
    insert into chunks (id, collection_id, document_id, position, text, embedding)
    values (${BIG_CHUNK_ID}, ${COLLECTION}, ${DOCUMENT}, 6, 'far', '\\x'::bytea)
  `.execute(db);
  await sql`
    insert into personas (id, name, creator_id, model, temperature, query_metric, query_threshold, top_k, rag_mode)
    values (${PERSONA}, 'p', ${USER}, 'offline', 0.1, 'cosine', 0.30000000000000004, 3, 'hybrid')
  `.execute(db);
  await sql`
    insert into persona_collections (persona_id, collection_id, position) values (${PERSONA}, ${COLLECTION}, 0)
  `.execute(db);
  await sql`
    insert into message_histories (id, user_id, persona_id, title) values (${HISTORY}, ${USER}, ${PERSONA}, 'h')
  `.execute(db);
  await sql`
    insert into messages (history_id, role, content, rag_hit)
    select ${HISTORY}, case when n % 2 = 1 then 'user' else 'assistant' end, 'm' || n,
           case when n % 2 = 0 then '[{"score": 0.5, "text": "é ☕ \\"quoted\\"\\n"}]'::jsonb end
    from generate_series(1, 7) as n
  `.execute(db);
  // The last message handed out is gone: the next one must not reuse its seq.
  await sql`delete from messages where seq = (select max(seq) from messages)`.execute(db);
  await sql`insert into login_failures (email, address) values ('x@example.com', '::1')`.execute(
    db,
  );
  await sql`insert into later_tree (note) values ('root'), ('child')`.execute(db);
  // The child (stored first after this update) points at a row stored after it.
  await sql`update later_tree set parent_id = 1 where id = 2`.execute(db);
  await sql`update later_tree set note = 'root, moved' where id = 1`.execute(db);
}

/** Every row of a table as Postgres prints it: equal text means equal values. */
async function rowsAsText<DB>(db: Kysely<DB>, table: string): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await sql`set local timezone to 'UTC'`.execute(trx);
    const { rows } = await sql<{ row: string }>`
      select t::text as row from ${sql.id(table)} as t
    `.execute(trx);
    // Sorted here: the two servers' collations may order text differently.
    return rows.map((r) => r.row).sort();
  });
}

const TABLES_WITH_ROWS = [
  'users',
  'api_keys',
  'collections',
  'documents',
  'chunks',
  'personas',
  'persona_collections',
  'message_histories',
  'messages',
  'login_failures',
  'later_tree',
];

beforeAll(async () => {
  source = await openTestDatabase({ kind: 'pglite' });
  target = await openTestDatabase();
  for (const { db } of [source, target]) {
    await migrateToLatest(db);
    await LATER_TABLE.execute(db);
  }
  await fill(source.db);
});
afterAll(async () => {
  await source?.[Symbol.asyncDispose]();
  await target?.[Symbol.asyncDispose]();
});

describe('copyDatabase', () => {
  it('copies every row of every table, the ones no migration made too, value for value', async () => {
    // Two rows a batch: every table of more than two rows takes several.
    const summary = await copyDatabase(source.db, target.db, { batchRows: 2 });

    const counted = Object.fromEntries(summary.tables.map((t) => [t.name, t.rows]));
    expect(counted).toMatchObject({ users: 1, chunks: 6, messages: 6, later_tree: 2 });
    // Parents first: every table after the ones its keys point at.
    const position = (t: string) => summary.tables.findIndex((s) => s.name === t);
    expect(position('users')).toBeLessThan(position('collections'));
    expect(position('documents')).toBeLessThan(position('chunks'));
    expect(position('message_histories')).toBeLessThan(position('messages'));
    expect(summary.suspended).toEqual(['later_tree_parent_id_fkey']);

    for (const table of TABLES_WITH_ROWS) {
      const expected = await rowsAsText(source.db, table);
      expect(expected.length, table).toBeGreaterThan(0);
      expect(await rowsAsText(target.db, table), table).toEqual(expected);
    }
    // The text above says so; these say it without relying on it.
    const { rows } = await sql<{ at: string; bytes: number; scopes: string[]; id: string }>`
      select to_char(k.last_used_at at time zone 'UTC', 'US') as at, length(k.secret_hash) as bytes,
             k.scopes, (select max(id)::text from chunks) as id
      from api_keys k
    `.execute(target.db);
    expect(rows[0]).toEqual({
      at: '000001',
      bytes: 256,
      scopes: ['chat', 'knowledge:read'],
      id: BIG_CHUNK_ID,
    });
    // The self-reference is back, and holds.
    await expect(
      sql`insert into later_tree (parent_id, note) values (999, 'orphan')`.execute(target.db),
    ).rejects.toThrow(/foreign key/);
  });

  it('leaves the sequences where later inserts collide with nothing copied', async () => {
    const { rows } = await sql<{ seq: string; max: string }>`
      insert into messages (history_id, role, content) values (${HISTORY}, 'user', 'after the copy')
      returning seq::text as seq, (select max(seq)::text from messages) as max
    `.execute(target.db);
    // Seven were handed out on the source (the seventh deleted): the next is the eighth.
    expect(rows[0]!.seq).toBe('8');
    const chunk = await sql<{ id: string }>`
      insert into chunks (collection_id, document_id, position, text, embedding)
      values (${COLLECTION}, ${DOCUMENT}, 7, 'new', '\\x'::bytea) returning id::text as id
    `.execute(target.db);
    expect(BigInt(chunk.rows[0]!.id)).toBeGreaterThan(BigInt(BIG_CHUNK_ID));
    await sql`insert into later_tree (note) values ('new')`.execute(target.db);
    await sql`insert into login_failures (email) values ('y@example.com')`.execute(target.db);
  });

  it('refuses a target that already holds data, and changes nothing there', async () => {
    const before = await rowsAsText(target.db, 'users');
    await expect(copyDatabase(source.db, target.db)).rejects.toThrow(CopyRefused);
    await expect(copyDatabase(source.db, target.db)).rejects.toThrow(/users: 1\b/);
    expect(await rowsAsText(target.db, 'users')).toEqual(before);
  });
});

describe('foreignKeyOrder', () => {
  it('puts each table after the ones it points at, alphabetically among equals', () => {
    const key = (table: string, references: string) => ({
      constraint: `${table}_${references}`,
      table,
      references,
    });
    expect(
      foreignKeyOrder(
        ['messages', 'histories', 'users', 'audit'],
        [key('messages', 'histories'), key('histories', 'users'), key('messages', 'elsewhere')],
      ),
    ).toEqual({ tables: ['audit', 'users', 'histories', 'messages'], suspended: [] });
  });

  it('suspends the keys of a cycle and of a self-reference, and orders the rest', () => {
    const order = foreignKeyOrder(
      ['a', 'b', 'c', 'tree'],
      [
        { constraint: 'a_b', table: 'a', references: 'b' },
        { constraint: 'b_a', table: 'b', references: 'a' },
        { constraint: 'c_a', table: 'c', references: 'a' },
        { constraint: 'tree_tree', table: 'tree', references: 'tree' },
      ],
    );
    expect(order.tables).toEqual(['tree', 'a', 'b', 'c']);
    expect(order.suspended.map((k) => k.constraint).sort()).toEqual(['a_b', 'b_a', 'tree_tree']);
  });
});
