import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthUser, Services } from '@personas/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateToLatest } from '../db/migrate';
import { createHashingEmbedder } from '../ingestion/embeddings/hashing-embedder';
import { KeyedMutex } from '../lib/keyed-mutex';
import { createLogger } from '../logger';
import { type ChunkIndexes, openChunkIndexes } from '../retrieval/chunk-indexes';
import { createRetriever } from '../retrieval/retriever';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { createUsersService } from '../users/service';
import { collectionsRepository } from './repository';
import { createCollectionsService, createOwnerCollectionsRemoval } from './service';

const embedder = createHashingEmbedder();
let database: TestDatabase;
let realIndexes: Awaited<ReturnType<typeof openChunkIndexes>>;
let admin: AuthUser;

const actorOf = (id: string, role: AuthUser['role']): AuthUser => ({
  id,
  email: `${id}@example.com`,
  role,
  credential: { kind: 'session', sessionId: 'test' },
  scopes: null,
  personaIds: null,
});

async function insertUser(email: string, role: AuthUser['role']) {
  const row = await database.db
    .insertInto('users')
    .values({ email, password_hash: 'x', role })
    .returning('id')
    .executeTakeFirstOrThrow();
  return actorOf(row.id, role);
}

/**
 * The indexes with a `sync` of an ingestion's own chunks that waits for the test once the table
 * has committed, and a log of what reached the real indexes in which order.
 */
function gatedIndexes() {
  const events: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered!: () => void;
  const addEntered = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const indexes: ChunkIndexes = {
    ...realIndexes,
    async sync(own) {
      if (own && own.length > 0) {
        entered();
        await released;
        await realIndexes.sync(own);
        events.push('add');
      } else {
        events.push('drop');
        await realIndexes.sync();
      }
    },
  };
  return { indexes, events, release, addEntered };
}

/** A lock that says when a task under `key` is asked for (not when it starts). */
class WatchedMutex extends KeyedMutex {
  readonly requested: string[] = [];
  #waiters: { key: string; resolve: () => void }[] = [];

  override run<T>(key: string, task: () => Promise<T> | T): Promise<T> {
    this.requested.push(key);
    for (const w of this.#waiters.filter((w) => w.key === key)) w.resolve();
    return super.run(key, task);
  }

  /** Resolves once `run(key, …)` has been called `count` times in all. */
  requestedTimes(key: string, count: number): Promise<void> {
    const done = () => this.requested.filter((k) => k === key).length >= count;
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        key,
        resolve: () => {
          if (!done()) return;
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

function collectionsService(indexes: ChunkIndexes, collectionLock?: KeyedMutex) {
  return createCollectionsService(database.db, {
    embedder,
    indexes,
    retrieve: createRetriever(database.db, embedder, indexes),
    documentLimitBytes: 1_000_000,
    chunkSize: 800,
    chunkOverlap: 100,
    defaultRagMode: 'hybrid',
    collectionLock,
  });
}

beforeAll(async () => {
  database = await openTestDatabase();
  await migrateToLatest(database.db);
  realIndexes = await openChunkIndexes(
    database.db,
    await mkdtemp(path.join(tmpdir(), 'personas-concurrent-')),
    createLogger('warn'),
  );
  admin = await insertUser('admin@example.com', 'admin');
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
    const { rows: docs } = await collectionsRepository.listDocuments(
      database.db,
      collection.collection_id,
      {},
    );
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
    const { rows: docs } = await collectionsRepository.listDocuments(
      database.db,
      collection.collection_id,
      {},
    );
    expect(docs.map((d) => d.id)).toEqual([theirs.id]);
  });
});

describe('deleting while an ingestion updates the indexes', () => {
  it('a collection: the deletion waits for the ingestion, so its index stays dropped', async () => {
    const owner = await insertUser('collection-owner@example.com', 'builder');
    const gate = gatedIndexes();
    const lock = new WatchedMutex();
    const service = collectionsService(gate.indexes, lock);
    const collection = await service.create(owner, { name: 'short-lived' });

    const adding = service.addDocument(owner, {
      name: 'short-lived',
      file_name: 'tides.txt',
      content: TIDES,
    });
    await gate.addEntered; // committed to the table, not yet in the indexes
    const deleting = service.delete(owner, 'short-lived');
    // The deletion either asks for the collection's lock or (without one) finishes on its own.
    await Promise.race([lock.requestedTimes(collection.collection_id, 2), deleting]);
    gate.release();
    await adding;
    await deleting;

    expect(gate.events).toEqual(['add', 'drop']);
    const [query] = await embedder.embed([TIDES]);
    expect(realIndexes.nearest(collection.collection_id, query!, 5)).toEqual([]);
    expect(realIndexes.lexical(collection.collection_id, 'tide tables', 5)).toEqual([]);
  });

  it('a user: their deletion waits for the ingestion into their collection and drops its index', async () => {
    const owner = await insertUser('user-owner@example.com', 'builder');
    const gate = gatedIndexes();
    const lock = new WatchedMutex();
    const service = collectionsService(gate.indexes, lock);
    const users: Services['users'] = createUsersService(database.db, {
      removeWithCollections: createOwnerCollectionsRemoval(database.db, {
        collectionLock: lock,
        indexes: gate.indexes,
      }),
    });
    const first = await service.create(owner, { name: 'their-first' });
    const collection = await service.create(owner, { name: 'their-second' });

    const adding = service.addDocument(owner, {
      name: 'their-second',
      file_name: 'tides.txt',
      content: TIDES,
    });
    await gate.addEntered;
    const deleting = users.delete(admin, owner.id);
    await Promise.race([lock.requestedTimes(collection.collection_id, 2), deleting]);
    gate.release();
    await adding;
    await expect(deleting).resolves.toEqual({ message: 'User deleted successfully' });

    expect(gate.events).toEqual(['add', 'drop']);
    const [query] = await embedder.embed([TIDES]);
    expect(realIndexes.nearest(collection.collection_id, query!, 5)).toEqual([]);
    expect(realIndexes.lexical(collection.collection_id, 'tide tables', 5)).toEqual([]);
    expect(await collectionsRepository.allIds(database.db)).not.toContain(first.collection_id);
  });
});
