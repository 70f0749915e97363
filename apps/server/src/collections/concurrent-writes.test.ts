import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthUser } from '@personas/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateToLatest } from '../db/migrate';
import { createHashingEmbedder } from '../ingestion/embeddings/hashing-embedder';
import { type ChunkIndexes, openChunkIndexes } from '../retrieval/chunk-indexes';
import { createRetriever } from '../retrieval/retriever';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { collectionsRepository } from './repository';
import { createCollectionsService } from './service';

const embedder = createHashingEmbedder();
let database: TestDatabase;
let realIndexes: Awaited<ReturnType<typeof openChunkIndexes>>;

const actorOf = (id: string, role: AuthUser['role']): AuthUser => ({
  id,
  email: `${id}@example.com`,
  role,
  credential: { kind: 'session', sessionId: 'test' },
});

async function insertUser(email: string, role: AuthUser['role']) {
  const row = await database.db
    .insertInto('users')
    .values({ email, password_hash: 'x', role })
    .returning('id')
    .executeTakeFirstOrThrow();
  return actorOf(row.id, role);
}

function collectionsService(indexes: ChunkIndexes) {
  return createCollectionsService(database.db, {
    embedder,
    indexes,
    retrieve: createRetriever(database.db, embedder, indexes),
    documentLimitBytes: 1_000_000,
    chunkSize: 800,
    chunkOverlap: 100,
    defaultRagMode: 'hybrid',
  });
}

beforeAll(async () => {
  database = await openTestDatabase();
  await migrateToLatest(database.db);
  realIndexes = await openChunkIndexes(
    database.db,
    await mkdtemp(path.join(tmpdir(), 'personas-concurrent-')),
  );
});
afterAll(async () => {
  await realIndexes.close();
  await database[Symbol.asyncDispose]();
});
afterEach(() => vi.restoreAllMocks());

const TIDES = 'The harbour master logs the tide tables every evening.';

describe('a document path stored by another writer at the same time', () => {
  async function setUp(name: string) {
    const owner = await insertUser(`${name}@example.com`, 'builder');
    const service = collectionsService(realIndexes);
    const collection = await service.create(owner, { name });
    // What another server on the same database committed after this upload looked for the path.
    const theirs = await collectionsRepository.insertDocument(database.db, {
      collection_id: collection.collection_id,
      file_name: 'theirs.md',
      doc_path: 'guides/tides.md',
      content_type: 'text/markdown',
      content_sha256: 'x',
      bytes: 1,
      chunk_count: 0,
    });
    return { owner, service, collection, theirs };
  }

  it('is replaced by one more try when the unique index refuses the upload', async () => {
    const { owner, service, collection, theirs } = await setUp('raced');
    const lookup = vi
      .spyOn(collectionsRepository, 'findDocumentByPath')
      .mockResolvedValueOnce(undefined);
    const added = await service.addDocument(owner, {
      name: 'raced',
      file_name: 'ours.md',
      doc_path: 'guides/tides.md',
      content: TIDES,
    });
    expect(lookup).toHaveBeenCalledTimes(2);
    const docs = await collectionsRepository.listDocuments(database.db, collection.collection_id);
    expect(docs.map((d) => [d.id, d.file_name])).toEqual([[added.document_id, 'ours.md']]);
    expect(docs[0]!.id).not.toBe(theirs.id);
  });

  it('answers 409 (not a 500) when the path is taken again on the second try', async () => {
    const { owner, service, collection, theirs } = await setUp('raced-twice');
    vi.spyOn(collectionsRepository, 'findDocumentByPath').mockResolvedValue(undefined);
    await expect(
      service.addDocument(owner, {
        name: 'raced-twice',
        file_name: 'ours.md',
        doc_path: 'guides/tides.md',
        content: TIDES,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    const docs = await collectionsRepository.listDocuments(database.db, collection.collection_id);
    expect(docs.map((d) => d.id)).toEqual([theirs.id]);
  });
});
