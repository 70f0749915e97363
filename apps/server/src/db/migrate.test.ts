import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { isUniqueViolation } from './errors';
import { migrateTo, migrateToLatest } from './migrate';

let database: TestDatabase;

beforeAll(async () => {
  database = await openTestDatabase();
  // The schema as it was before the unique index on (collection_id, doc_path).
  await migrateTo(database.db, '2026-11-26T12-40-00-chat');
});
afterAll(() => database[Symbol.asyncDispose]());

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('the unique document path migration', () => {
  it('keeps the newest of each duplicated doc_path (by created_at, then id) with its chunks, then refuses new duplicates', async () => {
    const { db } = database;
    const user = await db
      .insertInto('users')
      .values({ email: 'owner@example.com', password_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const [first, second] = await db
      .insertInto('collections')
      .values(
        ['first', 'second'].map((name) => ({
          name,
          owner_id: user.id,
          embedding_model: 'm',
          dimensions: 4,
        })),
      )
      .returning('id')
      .execute();
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 12, minute));
    const documents = [
      { id: uuid(1), collection: first!.id, path: 'a', created: at(0) },
      { id: uuid(2), collection: first!.id, path: 'a', created: at(2) }, // newest 'a': kept
      { id: uuid(3), collection: first!.id, path: 'a', created: at(1) },
      { id: uuid(4), collection: first!.id, path: 'b', created: at(5) },
      { id: uuid(5), collection: first!.id, path: 'b', created: at(5) }, // same time, larger id: kept
      { id: uuid(6), collection: first!.id, path: '', created: at(0) }, // no path: never replaced
      { id: uuid(7), collection: first!.id, path: '', created: at(1) },
      { id: uuid(8), collection: second!.id, path: 'a', created: at(0) }, // another collection
    ];
    await db
      .insertInto('documents')
      .values(
        documents.map((d) => ({
          id: d.id,
          collection_id: d.collection,
          file_name: `${d.id}.txt`,
          doc_path: d.path,
          content_type: 'text/plain',
          content_sha256: 'x',
          bytes: 1,
          chunk_count: 1,
          created_at: d.created,
        })),
      )
      .execute();
    await db
      .insertInto('chunks')
      .values(
        documents.map((d) => ({
          collection_id: d.collection,
          document_id: d.id,
          position: 0,
          text: `chunk of ${d.id}`,
          embedding: new Uint8Array(16),
        })),
      )
      .execute();

    await migrateToLatest(db);

    const kept = [uuid(2), uuid(5), uuid(6), uuid(7), uuid(8)];
    const left = await db.selectFrom('documents').select('id').orderBy('id').execute();
    expect(left.map((d) => d.id)).toEqual(kept);
    const chunks = await db
      .selectFrom('chunks')
      .select('document_id')
      .orderBy('document_id')
      .execute();
    expect(chunks.map((c) => c.document_id)).toEqual(kept);

    const again = (path: string) =>
      db
        .insertInto('documents')
        .values({
          collection_id: first!.id,
          file_name: 'again.txt',
          doc_path: path,
          content_type: 'text/plain',
          content_sha256: 'x',
          bytes: 1,
          chunk_count: 0,
          // Ready documents are the unique ones (an upload in progress sits beside its path's).
          status: 'ready',
        })
        .execute();
    const refused = await again('a').catch((error: unknown) => error);
    expect(isUniqueViolation(refused), String(refused)).toBe(true);
    await expect(again('')).resolves.toBeDefined();
  });
});
