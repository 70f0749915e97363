import { cp, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RagHit } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeLogRepository } from '../retrieval/change-log/change-log-repository';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import type { RestCall } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

const FILLER = [
  'The quarterly report covers revenue growth in the northern region and new hires in sales.',
  'Our office kitchen is cleaned every Friday; please label food in the shared fridge.',
  'The design team meets on Tuesdays to review mockups for the mobile application.',
  'Parking permits are renewed each January through the facilities portal.',
  'Security training is mandatory for all staff and takes about forty minutes online.',
];
const PLANTED =
  'The lighthouse keeper Marguerite Okonkwo logs the tide tables every evening at the harbour station.';
const QUERY = 'Who logs the tide tables at the harbour lighthouse?';

let t: TestApp;
let api: RestCall;
let admin: Actor;
let owner: Actor;
let otherBuilder: Actor;
let plainUser: Actor;

async function addDocument(collection: string, body: Record<string, unknown>, token = owner.token) {
  const res = await api<{ document_id: string; chunks: number }>(
    'POST',
    `/collections/${collection}/documents`,
    {
      token,
      body,
    },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

function postSearch(collection: string, body: Record<string, unknown>, token: string) {
  return api<{ hits: RagHit[] }>('POST', `/collections/${collection}/search`, { token, body });
}

async function search(collection: string, body: Record<string, unknown>, token = owner.token) {
  const res = await postSearch(collection, body, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.hits;
}

async function indexFiles() {
  const dir = path.join(t.dataDir, 'indexes');
  return (await readdir(dir)).filter((f) => f.endsWith('.hnsw')).map((f) => path.join(dir, f));
}

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  api = t.api;
  admin = await adminActor(t);
  owner = await createActor(t, admin.token, 'builder', 'owner');
  otherBuilder = await createActor(t, admin.token, 'builder', 'other');
  plainUser = await createActor(t, admin.token, 'user');
  const created = await api('POST', '/collections', {
    token: owner.token,
    body: { name: 'harbour', description: 'Harbour notes', visibility: 'private' },
  });
  expect(created.status).toBe(200);
  for (const [i, text] of FILLER.entries()) {
    await addDocument('harbour', { file_name: `filler-${i}.txt`, content: text });
  }
  await addDocument('harbour', {
    file_name: 'keeper.md',
    doc_path: 'notes/keeper.md',
    content: `# Keeper\n\n${PLANTED}`,
  });
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('collections', () => {
  it('create → get → list with counts, the embedder recorded, and 409 on a taken name', async () => {
    const got = await api('GET', '/collections/harbour', { token: owner.token });
    expect(got.body).toMatchObject({
      name: 'harbour',
      owner_id: owner.id,
      visibility: 'private',
      embedding_model: 'offline-hashing-v1',
      dimensions: 384,
      documents: FILLER.length + 1,
      chunks: FILLER.length + 1,
    });
    const again = await api('POST', '/collections', {
      token: otherBuilder.token,
      body: { name: 'harbour' },
    });
    expect(again.status).toBe(409);
    expect(
      (await api('POST', '/collections', { token: owner.token, body: { name: 'Bad Name' } }))
        .status,
    ).toBe(400);
  });

  it('hides a private collection from other builders (404) and plain users (403 by role)', async () => {
    expect((await api('GET', '/collections/harbour', { token: otherBuilder.token })).status).toBe(
      404,
    );
    expect((await postSearch('harbour', { query: 'x' }, otherBuilder.token)).status).toBe(404);
    expect(
      (await api('GET', '/collections/harbour/documents', { token: otherBuilder.token })).status,
    ).toBe(404);
    const lists = await api<{ collections: { name: string }[] }>('GET', '/collections', {
      token: otherBuilder.token,
    });
    expect(lists.body.collections.map((c) => c.name)).not.toContain('harbour');
    expect((await api('GET', '/collections/harbour', { token: plainUser.token })).status).toBe(403);
    expect((await api('GET', '/collections/harbour', { token: admin.token })).status).toBe(200);
  });

  it('lets builders read a shared collection but only its owner or an admin change it', async () => {
    await api('POST', '/collections', {
      token: owner.token,
      body: { name: 'handbook', visibility: 'shared' },
    });
    await addDocument('handbook', {
      file_name: 'h.txt',
      content: 'Holidays are requested two weeks in advance.',
    });
    expect((await api('GET', '/collections/handbook', { token: otherBuilder.token })).status).toBe(
      200,
    );
    const hits = await search(
      'handbook',
      { query: 'holidays requested in advance' },
      otherBuilder.token,
    );
    expect(hits[0]?.document_string).toContain('Holidays');
    const write = await api('POST', '/collections/handbook/documents', {
      token: otherBuilder.token,
      body: { file_name: 'x.txt', content: 'intrusion' },
    });
    expect(write.status).toBe(403);
    expect(
      (await api('DELETE', '/collections/handbook', { token: otherBuilder.token })).status,
    ).toBe(403);
    expect((await api('DELETE', '/collections/handbook', { token: admin.token })).body).toEqual({
      message: 'Collection deleted successfully',
    });
    expect((await api('GET', '/collections/handbook', { token: owner.token })).status).toBe(404);
  });
});

describe('ingestion and search', () => {
  it('finds the planted passage first, with both distances and d² = 2 − 2c', async () => {
    const hits = await search('harbour', { query: QUERY, top_k: 3 });
    expect(hits[0]?.document_string).toContain('Marguerite Okonkwo');
    expect(hits[0]).toMatchObject({ file_name: 'keeper.md', doc_path: 'notes/keeper.md' });
    for (const hit of hits) {
      expect(hit.euclidean_distance ** 2).toBeCloseTo(2 - 2 * hit.cosine_similarity, 9);
    }
    expect(hits.map((h) => h.cosine_similarity)).toEqual(
      [...hits.map((h) => h.cosine_similarity)].sort((a, b) => b - a),
    );
  });

  it('gives the same pass/fail for cosine and euclidean thresholds that d² = 2 − 2c makes equivalent', async () => {
    for (const cosineThreshold of [-0.5, 0, 0.1, 0.2, 0.3, 0.5, 0.9]) {
      const euclideanThreshold = Math.sqrt(2 - 2 * cosineThreshold);
      const byCosine = await search('harbour', {
        query: QUERY,
        top_k: 6,
        metric: 'cosine',
        threshold: cosineThreshold,
        mode: 'vector',
      });
      const byEuclid = await search('harbour', {
        query: QUERY,
        top_k: 6,
        metric: 'euclidean',
        threshold: euclideanThreshold,
        mode: 'vector',
      });
      expect(byEuclid.map((h) => h.success)).toEqual(byCosine.map((h) => h.success));
      for (const hit of byCosine)
        expect(hit.success).toBe(hit.cosine_similarity >= cosineThreshold);
    }
  });

  it('replaces a document re-added with the same doc_path instead of duplicating it', async () => {
    await addDocument('harbour', {
      file_name: 'keeper.md',
      doc_path: 'notes/keeper.md',
      content: `# Keeper\n\n${PLANTED}`,
    });
    const docs = await api<{ documents: { doc_path: string }[] }>(
      'GET',
      '/collections/harbour/documents',
      {
        token: owner.token,
      },
    );
    expect(docs.body.documents.filter((d) => d.doc_path === 'notes/keeper.md')).toHaveLength(1);
    const hits = await search('harbour', { query: QUERY, top_k: 6 });
    expect(hits.filter((h) => h.document_string.includes('Okonkwo'))).toHaveLength(1);
  });

  it('refuses an empty document (400) and one over the size limit (413), storing nothing', async () => {
    expect(
      (
        await api('POST', '/collections/harbour/documents', {
          token: owner.token,
          body: { file_name: 'e.txt', content: '   ' },
        })
      ).status,
    ).toBe(400);
    await using small = await startTestApp({ ...TEST_ADMIN_ENV, DOCUMENT_LIMIT_BYTES: '1000' });
    const smallApi = small.api;
    const a = await adminActor(small);
    await smallApi('POST', '/collections', { token: a.token, body: { name: 'tiny' } });
    const big = await smallApi('POST', '/collections/tiny/documents', {
      token: a.token,
      body: { file_name: 'big.txt', content: 'word '.repeat(400) },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const docs = await smallApi<{ documents: unknown[] }>('GET', '/collections/tiny/documents', {
      token: a.token,
    });
    expect(docs.body.documents).toEqual([]);
  });

  it('refuses to mix embedders: a collection built with other dimensions answers 400', async () => {
    await t.database.db
      .insertInto('collections')
      .values({
        name: 'foreign',
        owner_id: owner.id,
        embedding_model: 'some-768-model',
        dimensions: 768,
      })
      .execute();
    const add = await api('POST', '/collections/foreign/documents', {
      token: owner.token,
      body: { file_name: 'x.txt', content: 'hello world' },
    });
    expect(add.status).toBe(400);
    expect(add.body).toMatchObject({ detail: expect.stringMatching(/768 dimensions/) });
    expect((await postSearch('foreign', { query: 'hello' }, owner.token)).status).toBe(400);
  });
});

describe('deletion and restarts', () => {
  it('takes a deleted document out of search at once and after a restart', async () => {
    const doc = await addDocument('harbour', {
      file_name: 'ephemeral.txt',
      content: 'The zeppelin hangar opens at dawn for inspection.',
    });
    expect(
      (await search('harbour', { query: 'zeppelin hangar dawn', top_k: 1 }))[0]?.file_name,
    ).toBe('ephemeral.txt');
    expect(
      (
        await api('DELETE', `/collections/harbour/documents/${doc.document_id}`, {
          token: owner.token,
        })
      ).body,
    ).toEqual({
      message: 'Document deleted successfully',
    });
    const now = await search('harbour', { query: 'zeppelin hangar dawn', top_k: 10 });
    expect(now.map((h) => h.file_name)).not.toContain('ephemeral.txt');
    await t.restart();
    const later = await search('harbour', { query: 'zeppelin hangar dawn', top_k: 10 });
    expect(later.map((h) => h.file_name)).not.toContain('ephemeral.txt');
    expect(
      (
        await api('DELETE', `/collections/harbour/documents/${doc.document_id}`, {
          token: owner.token,
        })
      ).status,
    ).toBe(404);
  });

  it.each(['deleted', 'truncated', 'corrupted'] as const)(
    'rebuilds an index file that was %s, with the same results',
    async (damage) => {
      const before = await search('harbour', { query: QUERY, top_k: 5 });
      await t.restart(); // writes the indexes
      const files = await indexFiles();
      expect(files.length).toBeGreaterThan(0);
      await t.restart(async () => {
        for (const file of files) {
          if (damage === 'deleted') await rm(file);
          if (damage === 'truncated') await truncate(file, 100);
          if (damage === 'corrupted') await writeFile(file, Buffer.alloc(4096, 7));
        }
      });
      expect(t.app.indexReport.rebuilt.length).toBeGreaterThan(0);
      expect(await search('harbour', { query: QUERY, top_k: 5 })).toEqual(before);
    },
  );

  it('loads an intact index from disk instead of rebuilding it', async () => {
    await t.restart();
    await t.restart();
    expect(t.app.indexReport.rebuilt).toEqual([]);
    expect(t.app.indexReport.loaded.length).toBeGreaterThan(0);
    const ready = await t.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({
      status: 'ready',
      vector_indexes: { loaded: t.app.indexReport.loaded.length, rebuilt: 0 },
    });
  });

  /** Restarts from the index files as they were before `change` (committed): a crash after it. */
  async function restartFromFilesBefore(
    change: () => Promise<void>,
    whileDown?: () => Promise<void>,
  ) {
    await t.restart();
    const snapshot = await mkdtemp(path.join(tmpdir(), 'personas-index-snapshot-'));
    await cp(path.join(t.dataDir, 'indexes'), snapshot, { recursive: true });
    await change();
    await t.restart(async () => {
      // The crash: the commit happened, but the index on disk is the one from before it.
      await rm(path.join(t.dataDir, 'indexes'), { recursive: true, force: true });
      await cp(snapshot, path.join(t.dataDir, 'indexes'), { recursive: true });
      await rm(snapshot, { recursive: true, force: true });
      await whileDown?.();
    });
  }

  it('replays the change log at start into an index that missed chunks committed just before a crash', async () => {
    await restartFromFilesBefore(async () => {
      await addDocument('harbour', {
        file_name: 'late.txt',
        content: 'The ferry timetable changes on the first of March.',
      });
    });
    expect(t.app.indexReport.rebuilt).toEqual([]);
    expect(t.app.indexReport.replayed.length).toBeGreaterThan(0);
    const ready = await t.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({
      status: 'ready',
      replayed: t.app.indexReport.replayed.length,
      vector_indexes: { rebuilt: 0 },
      lag: { changes: 0 },
    });
    const hits = await search('harbour', {
      query: 'ferry timetable March',
      top_k: 1,
      mode: 'vector',
    });
    expect(hits[0]?.file_name).toBe('late.txt');
  });

  it('compares the file with the table, and rebuilds it, when the log since its checkpoint was trimmed', async () => {
    await restartFromFilesBefore(
      async () => {
        await addDocument('harbour', {
          file_name: 'later.txt',
          content: 'The lighthouse keeper winds the lamp clock at dusk.',
        });
      },
      async () => {
        await changeLogRepository.trimOlderThan(t.database.db, new Date(Date.now() + 60_000));
      },
    );
    expect(t.app.indexReport.replayed).toEqual([]);
    expect(Object.values(t.app.indexReport.reasons).join(' ')).toMatch(/stale/);
    const hits = await search('harbour', {
      query: 'lighthouse keeper lamp clock',
      top_k: 1,
      mode: 'vector',
    });
    expect(hits[0]?.file_name).toBe('later.txt');
  });
});
