/**
 * Hybrid retrieval on a small hand-made corpus (./fixtures/hybrid-corpus), through the
 * HTTP API: an exact term the vector side misses is found by hybrid; a deleted or replaced
 * document leaves the lexical side too; after a restart — index file loaded, index file deleted,
 * or index file older than Postgres (a crash) — both sides hold exactly the chunks Postgres holds.
 *
 * The lexical index is in-process and the API has no lexical-only mode, so the test also looks
 * at the server's own indexes: `openChunkIndexes` is wrapped (not replaced) to keep a reference to
 * what each app opened, and its `lexical()` / `nearest()` are compared with the chunks table.
 */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RagHit } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HASHING_EMBEDDER_DIMENSIONS } from '../ingestion/embeddings/hashing-embedder';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import type { RestCall } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';
import type { ChunkIndexes } from './chunk-indexes';

const captured = vi.hoisted(() => ({ indexes: [] as ChunkIndexes[] }));
vi.mock(import('./chunk-indexes'), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    openChunkIndexes: async (...args: Parameters<typeof original.openChunkIndexes>) => {
      const indexes = await original.openChunkIndexes(...args);
      captured.indexes.push(indexes);
      return indexes;
    },
  };
});

const COLLECTION = 'gear';
const FIXTURES = new URL('./fixtures/hybrid-corpus/', import.meta.url);
/** Holds the rare terms. Added first, so its chunk has the lowest id (see the deletion test). */
const TARGET = 'pole-safety-notice.txt';
const CODE_QUERY = 'Is there a recall on ZX-4471?';
const NAME_QUERY = 'Who is Thorlund?';
const TOP_K = 3;

let t: TestApp;
let api: RestCall;
let owner: Actor;
let collectionId: string;
/** Every fixture text ever added: a query made of all of them matches every chunk lexically. */
const everyText: string[] = [];

/** The indexes the running app opened. */
const indexes = () => captured.indexes.at(-1)!;

async function addDocument(body: { file_name: string; content: string; doc_path?: string }) {
  everyText.push(body.content);
  const res = await api<{ document_id: string; chunks: number }>(
    'POST',
    `/collections/${COLLECTION}/documents`,
    { token: owner.token, body },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function search(query: string, mode: 'vector' | 'hybrid', topK = TOP_K) {
  const res = await api<{ hits: RagHit[] }>('POST', `/collections/${COLLECTION}/search`, {
    token: owner.token,
    body: { query, top_k: topK, mode },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.hits.map((h) => h.file_name);
}

async function documentIdOf(fileName: string) {
  const res = await api<{ documents: { document_id: string; file_name: string }[] }>(
    'GET',
    `/collections/${COLLECTION}/documents`,
    { token: owner.token },
  );
  const document = res.body.documents.find((d) => d.file_name === fileName);
  if (!document) throw new Error(`no document ${fileName}`);
  return document.document_id;
}

async function deleteDocument(fileName: string) {
  const res = await api(
    'DELETE',
    `/collections/${COLLECTION}/documents/${await documentIdOf(fileName)}`,
    { token: owner.token },
  );
  expect(res.status).toBe(200);
}

const numeric = (a: number, b: number) => a - b;

/**
 * The chunks table, the lexical index and the vector index hold the same chunk ids, and the
 * search route sees every live document (each fixture is one chunk; top_k 20 covers them all).
 */
async function expectBothSidesAgreeWithPostgres() {
  const rows = await t.database.db
    .selectFrom('chunks')
    .innerJoin('documents', 'documents.id', 'chunks.document_id')
    .select(['chunks.id', 'documents.file_name'])
    .where('chunks.collection_id', '=', collectionId)
    .execute();
  const truth = rows.map((r) => Number(r.id)).sort(numeric);
  expect(truth.length).toBeGreaterThan(0);
  const lexical = indexes().lexical(collectionId, everyText.join('\n'), 1000);
  expect([...lexical].sort(numeric)).toEqual(truth);
  const probe = Array.from({ length: HASHING_EMBEDDER_DIMENSIONS }, (_, i) => (i === 0 ? 1 : 0));
  const vector = indexes().nearest(collectionId, probe, 1000);
  expect(vector.map((h) => h.label).sort(numeric)).toEqual(truth);
  const live = rows.map((r) => r.file_name).sort();
  expect((await search('shop', 'vector', 20)).sort()).toEqual(live);
  expect((await search('shop', 'hybrid', 20)).sort()).toEqual(live);
}

/** The premise and the claim: vector top_k misses the target, hybrid top_k ranks it first. */
async function expectHybridFindsWhatVectorMisses(query: string) {
  expect(await search(query, 'vector')).not.toContain(TARGET);
  expect((await search(query, 'hybrid'))[0]).toBe(TARGET);
}

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  api = t.api;
  const admin = await adminActor(t);
  owner = await createActor(t, admin.token, 'builder', 'owner');
  const created = await api<{ collection_id: string }>('POST', '/collections', {
    token: owner.token,
    body: { name: COLLECTION },
  });
  expect(created.status).toBe(200);
  collectionId = created.body.collection_id;
  const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.txt')).sort();
  for (const name of [TARGET, ...names.filter((n) => n !== TARGET)]) {
    await addDocument({
      file_name: name,
      content: await readFile(new URL(name, FIXTURES), 'utf8'),
    });
  }
});

afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('hybrid retrieval', () => {
  it.each([
    ['a product code', CODE_QUERY],
    ['a person’s name', NAME_QUERY],
  ])('finds by %s a document the vector side misses', async (_, query) => {
    await expectHybridFindsWhatVectorMisses(query);
    expect(indexes().lexical(collectionId, query, TOP_K)).toHaveLength(1);
  });

  it('takes a deleted document out of the lexical side too, and back in when re-added', async () => {
    const content = await readFile(new URL(TARGET, FIXTURES), 'utf8');
    await deleteDocument(TARGET);
    expect(indexes().lexical(collectionId, 'ZX-4471 Thorlund', 10)).toEqual([]);
    expect(await search(CODE_QUERY, 'hybrid', 20)).not.toContain(TARGET);
    expect(await search(NAME_QUERY, 'hybrid', 20)).not.toContain(TARGET);
    // Observable through the API alone: had the lexical index kept the deleted chunk, it would
    // still be the lexical top hit and, with the lowest id, win the fused first place; the route
    // would then drop it (its row is gone) and answer with no hit at all.
    expect(await search(CODE_QUERY, 'hybrid', 1)).toHaveLength(1);
    await expectBothSidesAgreeWithPostgres();

    await addDocument({ file_name: TARGET, content });
    await expectHybridFindsWhatVectorMisses(CODE_QUERY);
    await expectBothSidesAgreeWithPostgres();
  });

  it('replaces a document’s lexical entries when it is re-added under the same doc_path', async () => {
    await addDocument({
      file_name: 'price-list.txt',
      doc_path: 'lists/prices',
      content: 'Price list: the KT-2090 stove costs forty pounds.',
    });
    const [old] = indexes().lexical(collectionId, '2090 forty', 10);
    expect(old).toBeDefined();
    await addDocument({
      file_name: 'price-list.txt',
      doc_path: 'lists/prices',
      content: 'Price list: the KT-3100 stove replaces the old model and costs fifty pounds.',
    });
    // Words only the old version had ("KT-2090" also yields "kt", which the new one shares).
    expect(indexes().lexical(collectionId, '2090 forty', 10)).toEqual([]);
    const replacement = indexes().lexical(collectionId, 'KT-3100', 10);
    expect(replacement).toHaveLength(1);
    expect(replacement[0]).toBeGreaterThan(old!);
    expect((await search('Is there a KT-3100?', 'hybrid'))[0]).toBe('price-list.txt');
    await expectBothSidesAgreeWithPostgres();
  });
});

describe('after a restart both sides agree with Postgres', () => {
  it('when the vector index is loaded from its file', async () => {
    await t.restart();
    expect(t.app.indexReport.loaded).toContain(collectionId);
    await expectBothSidesAgreeWithPostgres();
    await expectHybridFindsWhatVectorMisses(CODE_QUERY);
    await expectHybridFindsWhatVectorMisses(NAME_QUERY);
  });

  it('when the vector index file was deleted', async () => {
    await t.restart(async () => {
      const directory = path.join(t.dataDir, 'indexes');
      const files = (await readdir(directory)).filter((f) => f.startsWith(collectionId));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) await rm(path.join(directory, file));
    });
    expect(t.app.indexReport.rebuilt).toContain(collectionId);
    expect(t.app.indexReport.reasons[collectionId]).toMatch(/missing/);
    await expectBothSidesAgreeWithPostgres();
    await expectHybridFindsWhatVectorMisses(CODE_QUERY);
  });

  it('when the index files predate an addition and a deletion committed before a crash (replayed from the log)', async () => {
    const directories = ['indexes', 'lexical-indexes'].map((d) => path.join(t.dataDir, d));
    const snapshot = await mkdtemp(path.join(tmpdir(), 'personas-hybrid-snapshot-'));
    try {
      await t.restart(); // both kinds of index files written
      for (const [i, directory] of directories.entries()) {
        await cp(directory, path.join(snapshot, String(i)), { recursive: true });
      }
      await addDocument({
        file_name: 'stove-notice.txt',
        content: 'Stove notice: the MV-5120 burner valve sticks in frost; swap it for the new one.',
      });
      await deleteDocument('warranty.txt');
      await t.restart(async () => {
        // The crash: Postgres has both changes, the index files on disk have neither.
        for (const [i, directory] of directories.entries()) {
          await rm(directory, { recursive: true, force: true });
          await cp(path.join(snapshot, String(i)), directory, { recursive: true });
        }
      });
    } finally {
      await rm(snapshot, { recursive: true, force: true });
    }
    // A checkpoint: loaded, and the change log since it replayed; not rebuilt.
    expect(t.app.indexReport.replayed).toContain(collectionId);
    expect(t.app.indexReport.rebuilt).not.toContain(collectionId);
    // The lexical side too: its image loaded, not rebuilt from the table.
    expect(t.app.indexes.status().lexical).toEqual({ loaded: 1, rebuilt: 0 });
    await expectBothSidesAgreeWithPostgres();
    expect((await search('Is there a fix for MV-5120?', 'hybrid'))[0]).toBe('stove-notice.txt');
    expect(indexes().lexical(collectionId, 'warranty', 10)).toEqual([]);
    await expectHybridFindsWhatVectorMisses(CODE_QUERY);
  });
});
