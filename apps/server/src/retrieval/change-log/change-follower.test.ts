import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionsRepository } from '../../collections/repository';
import { migrateToLatest } from '../../db/migrate';
import {
  openTestDatabase,
  type TestDatabase,
  testDatabaseServerUrl,
} from '../../test-support/test-database';
import { encodeVector } from '../vector/vector-codec';
import { ChangeFollower, type ChangeTarget, type IndexChunk } from './change-follower';
import { changeLogRepository } from './change-log-repository';

let database: TestDatabase;
let ownerId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  await migrateToLatest(database.db);
  const user = await database.db
    .insertInto('users')
    .values({ email: 'owner@example.com', password_hash: 'x' })
    .returning('id')
    .executeTakeFirstOrThrow();
  ownerId = user.id;
});
afterAll(() => database[Symbol.asyncDispose]());

async function newCollection(name: string): Promise<string> {
  const row = await collectionsRepository.insert(database.db, {
    name,
    owner_id: ownerId,
    embedding_model: 'test',
    dimensions: 2,
  });
  return row!.id;
}

/** A document with `texts.length` chunks, committed; returns its id and chunk ids. */
async function addDocument(collectionId: string, texts: string[]) {
  return database.db.transaction().execute(async (trx) => {
    const document = await collectionsRepository.insertDocument(trx, {
      collection_id: collectionId,
      file_name: 'doc.txt',
      content_type: 'text/plain',
      content_sha256: 'x',
      bytes: 1,
      chunk_count: texts.length,
    });
    const labels = await collectionsRepository.insertChunks(
      trx,
      texts.map((text, i) => ({
        collection_id: collectionId,
        document_id: document.id,
        position: i,
        text,
        embedding: [1, 0],
      })),
    );
    return { documentId: document.id, labels };
  });
}

/** Indexes in memory: collection → label → text, and every call made. */
function memoryTarget() {
  const collections = new Map<string, Map<number, string>>();
  const calls: string[] = [];
  const target: ChangeTarget = {
    async drop(collectionId) {
      calls.push(`drop ${collectionId}`);
      collections.delete(collectionId);
    },
    async remove(collectionId, labels) {
      calls.push(`remove ${labels.length}`);
      for (const label of labels) collections.get(collectionId)?.delete(label);
    },
    missing(collectionId, labels) {
      return labels.filter((label) => !collections.get(collectionId)?.has(label));
    },
    async add(collectionId, chunks) {
      calls.push(`add ${chunks.length}`);
      let collection = collections.get(collectionId);
      if (!collection) {
        collection = new Map();
        collections.set(collectionId, collection);
      }
      for (const c of chunks) collection.set(c.label, c.text);
    },
  };
  const labelsOf = (collectionId: string) =>
    [...(collections.get(collectionId)?.keys() ?? [])].sort((a, b) => a - b);
  return { target, collections, calls, labelsOf };
}

/**
 * A follower that has applied everything so far, its target's calls cleared. (The watermark is
 * cluster-wide: a transaction of another test file's database can hold it back, so earlier rows of
 * this database may still be at or above it; they are applied here, and never again.)
 */
async function followerFromNow(memory: ReturnType<typeof memoryTarget>) {
  const follower = new ChangeFollower(database.db, memory.target, {
    from: await changeLogRepository.snapshotXmin(database.db),
  });
  await follower.sync();
  memory.calls.length = 0;
  return follower;
}

describe('the change log', () => {
  it('records additions, deletions and dropped collections in the transaction that made them, cascades included', async () => {
    const from = await changeLogRepository.snapshotXmin(database.db);
    const collectionId = await newCollection('logged');
    const { documentId, labels } = await addDocument(collectionId, ['one', 'two', 'three']);
    await database.db
      .transaction()
      .execute((trx) => collectionsRepository.deleteDocument(trx, documentId));
    const second = await addDocument(collectionId, ['four']);
    // A rolled-back transaction leaves no row.
    await database.db
      .transaction()
      .execute(async (trx) => {
        await collectionsRepository.deleteDocument(trx, second.documentId);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await collectionsRepository.delete(database.db, collectionId); // cascades to the chunks
    const rows = await changeLogRepository.changesFrom(database.db, from, null, 100);
    expect(rows.map((r) => [r.kind, r.collectionId, r.chunkIds])).toEqual([
      ['add', collectionId, labels],
      ['remove', collectionId, labels],
      ['add', collectionId, second.labels],
      // One transaction: the order within it is the statements' (the collection row goes first).
      ...rows.slice(3).map((r) => [r.kind, r.collectionId, r.chunkIds]),
    ]);
    expect(
      rows
        .slice(3)
        .map((r) => r.kind)
        .sort(),
    ).toEqual(['drop', 'remove']);
    expect(rows.slice(3).find((r) => r.kind === 'remove')?.chunkIds).toEqual(second.labels);
    expect(new Set(rows.slice(3).map((r) => r.xid)).size).toBe(1);
  });

  it('is trimmed by age, and remembers below which position it was trimmed', async () => {
    const collectionId = await newCollection('trimmed');
    await addDocument(collectionId, ['kept for now']);
    const before = await changeLogRepository.trimmedBelow(database.db);
    expect(await changeLogRepository.trimOlderThan(database.db, new Date(0))).toBe(0);
    const trimmed = await changeLogRepository.trimOlderThan(
      database.db,
      new Date(Date.now() + 60_000),
    );
    expect(trimmed).toBeGreaterThan(0);
    const after = await changeLogRepository.trimmedBelow(database.db);
    expect(after).toBeGreaterThan(before);
    expect(await changeLogRepository.changesFrom(database.db, 0n, null, 10)).toEqual([]);
  });
});

describe('ChangeFollower', () => {
  it('applies additions read back from the table, removals and drops, each once', async () => {
    const memory = memoryTarget();
    const follower = await followerFromNow(memory);
    const collectionId = await newCollection('followed');
    const first = await addDocument(collectionId, ['alpha', 'beta']);
    await follower.sync();
    expect(memory.labelsOf(collectionId)).toEqual(first.labels);
    expect(memory.collections.get(collectionId)?.get(first.labels[0]!)).toBe('alpha');

    const second = await addDocument(collectionId, ['gamma']);
    await database.db
      .transaction()
      .execute((trx) => collectionsRepository.deleteDocument(trx, first.documentId));
    memory.calls.length = 0;
    await follower.sync();
    expect(memory.labelsOf(collectionId)).toEqual(second.labels);
    await follower.sync();
    // Rows above the watermark are read again but not applied twice.
    expect(memory.calls.filter((c) => c.startsWith('add'))).toEqual(['add 1']);
    expect(await follower.lag()).toEqual({ changes: 0, seconds: 0 });

    await collectionsRepository.delete(database.db, collectionId);
    await follower.sync();
    expect(memory.collections.has(collectionId)).toBe(false);
  });

  it('takes its own chunks as given, and never adds a chunk whose removal it has seen', async () => {
    const memory = memoryTarget();
    const follower = await followerFromNow(memory);
    const collectionId = await newCollection('own-writes');
    const { documentId, labels } = await addDocument(collectionId, ['stored text']);
    const own: IndexChunk[] = labels.map((label) => ({ label, vector: [0, 1], text: 'in memory' }));
    // Deleted by another writer before this process applied its own addition.
    await database.db
      .transaction()
      .execute((trx) => collectionsRepository.deleteDocument(trx, documentId));
    await follower.sync(own);
    expect(memory.labelsOf(collectionId)).toEqual([]);

    const kept = await addDocument(collectionId, ['stored text']);
    await follower.sync(kept.labels.map((label) => ({ label, vector: [0, 1], text: 'in memory' })));
    expect(memory.collections.get(collectionId)?.get(kept.labels[0]!)).toBe('in memory');
  });

  it('reports what it has not applied yet as lag', async () => {
    const memory = memoryTarget();
    const follower = await followerFromNow(memory);
    const collectionId = await newCollection('lagging');
    await addDocument(collectionId, ['a']);
    await addDocument(collectionId, ['b']);
    const lag = await follower.lag();
    expect(lag.changes).toBe(2);
    expect(lag.seconds).toBeGreaterThanOrEqual(0);
    await follower.sync();
    expect((await follower.lag()).changes).toBe(0);
  });

  it('shares one catch-up between the calls made while another runs', async () => {
    const memory = memoryTarget();
    const follower = await followerFromNow(memory);
    const collectionId = await newCollection('coalesced');
    await addDocument(collectionId, ['a']);
    const calls = Array.from({ length: 5 }, () => follower.sync());
    await Promise.all(calls);
    expect(memory.calls).toEqual(['add 1']);
  });
});

describe.skipIf(testDatabaseServerUrl() === null)(
  'a transaction that commits after a later one (Postgres; PGlite runs one at a time)',
  () => {
    it('is applied once it commits, though a later log row was applied before it', async () => {
      const memory = memoryTarget();
      const follower = await followerFromNow(memory);
      const collectionId = await newCollection('out-of-order');
      const document = await addDocument(collectionId, []);
      const slow = new pg.Client({ connectionString: database.url! });
      await slow.connect();
      try {
        // The slow writer takes its log row's id first, and commits last.
        await slow.query('begin');
        const inserted = await slow.query<{ id: string }>(
          `insert into chunks (collection_id, document_id, position, text, embedding)
           values ($1, $2, 0, 'slow', $3) returning id`,
          [collectionId, document.documentId, Buffer.from(encodeVector([1, 0]))],
        );
        const slowLogId = await slow.query<{ id: string }>(
          'select max(id)::text as id from chunk_changes',
        );
        const fast = await addDocument(collectionId, ['fast']);
        await follower.sync();
        expect(memory.labelsOf(collectionId)).toEqual(fast.labels);
        const seen = await changeLogRepository.changesFrom(database.db, 0n, null, 1000);
        // What "the last id seen" would have remembered is past the slow row's id.
        expect(Math.max(...seen.map((r) => r.id))).toBeGreaterThan(Number(slowLogId.rows[0]!.id));

        await slow.query('commit');
        await follower.sync();
        expect(memory.labelsOf(collectionId)).toEqual(
          [Number(inserted.rows[0]!.id), ...fast.labels].sort((a, b) => a - b),
        );
      } finally {
        await slow.end();
      }
    });
  },
);
