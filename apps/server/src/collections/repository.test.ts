import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../db/errors';
import { migrateToLatest } from '../db/migrate';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { collectionsRepository } from './repository';

let database: TestDatabase;
let collectionIds: string[];

beforeAll(async () => {
  database = await openTestDatabase();
  await migrateToLatest(database.db);
  const user = await database.db
    .insertInto('users')
    .values({ email: 'owner@example.com', password_hash: 'x' })
    .returning('id')
    .executeTakeFirstOrThrow();
  collectionIds = [];
  for (const name of ['one', 'two']) {
    const row = await collectionsRepository.insert(database.db, {
      name,
      owner_id: user.id,
      embedding_model: 'm',
      dimensions: 4,
    });
    collectionIds.push(row!.id);
  }
});
afterAll(() => database[Symbol.asyncDispose]());

const documentAt = (collectionId: string, docPath: string) => ({
  collection_id: collectionId,
  file_name: 'guide.md',
  doc_path: docPath,
  content_type: 'text/markdown',
  content_sha256: 'x',
  bytes: 1,
  chunk_count: 0,
  status: 'ready' as const,
});

describe('documents', () => {
  it('when ready, are unique per (collection, doc_path): the index refuses a second one, also inside a transaction', async () => {
    const { db } = database;
    const [one, two] = collectionIds as [string, string];
    await collectionsRepository.insertDocument(db, documentAt(one, 'guides/setup.md'));
    const refused = await collectionsRepository
      .insertDocument(db, documentAt(one, 'guides/setup.md'))
      .catch((error: unknown) => error);
    expect(isUniqueViolation(refused), String(refused)).toBe(true);
    const inTransaction = await db
      .transaction()
      .execute((trx) =>
        collectionsRepository.insertDocument(trx, documentAt(one, 'guides/setup.md')),
      )
      .catch((error: unknown) => error);
    expect(isUniqueViolation(inTransaction), String(inTransaction)).toBe(true);
    // An upload still in progress sits beside the ready one (it replaces it once ready).
    await collectionsRepository.insertDocument(db, {
      ...documentAt(one, 'guides/setup.md'),
      status: 'queued',
    });

    // The same path in another collection is another document.
    await collectionsRepository.insertDocument(db, documentAt(two, 'guides/setup.md'));
    const { rows: docs } = await collectionsRepository.listDocuments(db, one, {});
    expect(docs.map((d) => [d.doc_path, d.status])).toEqual([
      ['guides/setup.md', 'ready'],
      ['guides/setup.md', 'queued'],
    ]);
  });

  it('without a path (doc_path "") are never unique', async () => {
    const { db } = database;
    const [, two] = collectionIds as [string, string];
    await collectionsRepository.insertDocument(db, documentAt(two, ''));
    await collectionsRepository.insertDocument(db, documentAt(two, ''));
    const { rows: docs } = await collectionsRepository.listDocuments(db, two, {});
    expect(docs.filter((d) => d.doc_path === '')).toHaveLength(2);
  });
});
