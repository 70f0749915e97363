import type { CollectionDocument, RagHit } from '@personas/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../../test-support/actors';
import { startTestApp, type TestApp } from '../../test-support/test-app';
import { EmbeddingUpstreamError } from '../embeddings/errors';
import { jobsRepository } from './jobs-repository';

const LIMIT = 64 * 1024;
let t: TestApp;
let owner: Actor;
let collection = 0;

const LIGHTHOUSE = '# Lighthouse\n\nMarguerite Okonkwo logs the tide tables every evening.\n';
const FERRY = '# Ferry\n\nThe ferry to the island leaves at seven from the north quay.\n';

async function newCollection(): Promise<string> {
  collection += 1;
  const name = `jobs-${collection}`;
  const res = await t.api('POST', '/collections', { token: owner.token, body: { name } });
  expect(res.status).toBe(200);
  return name;
}

function upload(name: string, body: unknown, query = '') {
  return t.api<CollectionDocument>('POST', `/collections/${name}/documents${query}`, {
    token: owner.token,
    body,
  });
}

function multipart(
  name: string,
  parts: { file?: { name: string; type: string; bytes: Buffer }; fields?: Record<string, string> },
  headers: Record<string, string> = {},
) {
  const boundary = 'personas-test-boundary';
  const chunks: Buffer[] = [];
  for (const [field, value] of Object.entries(parts.fields ?? {})) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  if (parts.file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${parts.file.name}"\r\ncontent-type: ${parts.file.type}\r\n\r\n`,
      ),
      parts.file.bytes,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return t.app.http
    .inject({
      method: 'POST',
      url: `/api/collections/${name}/documents`,
      headers: {
        authorization: `Bearer ${owner.token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        ...headers,
      },
      payload: Buffer.concat(chunks),
    })
    .then((res) => ({ status: res.statusCode, body: res.json(), headers: res.headers }));
}

const getDocument = (name: string, id: string) =>
  t.api<CollectionDocument>('GET', `/collections/${name}/documents/${id}`, { token: owner.token });

async function listed(name: string) {
  const res = await t.api<{ documents: CollectionDocument[] }>(
    'GET',
    `/collections/${name}/documents`,
    { token: owner.token },
  );
  return res.body.documents;
}

async function hits(name: string, query: string) {
  const res = await t.api<{ hits: RagHit[] }>('POST', `/collections/${name}/search`, {
    token: owner.token,
    body: { query, top_k: 5 },
  });
  expect(res.status).toBe(200);
  return res.body.hits;
}

async function readyWithin(name: string, id: string) {
  return vi.waitFor(
    async () => {
      const res = await getDocument(name, id);
      expect(res.body.status).toBe('ready');
      return res.body;
    },
    { timeout: 20_000, interval: 50 },
  );
}

/** Holds every job at its first progress write (extracted, nothing embedded) until released. */
function holdJobs() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered!: () => void;
  const held = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const original = jobsRepository.progress.bind(jobsRepository);
  vi.spyOn(jobsRepository, 'progress').mockImplementation(async (...args) => {
    entered();
    await released;
    return original(...args);
  });
  return { held, release };
}

/** The next job's embedding fails as the embedding model would. */
function failNextEmbedding() {
  vi.spyOn(jobsRepository, 'progress').mockRejectedValueOnce(
    new EmbeddingUpstreamError('the embedding service answered 503'),
  );
}

beforeAll(async () => {
  t = await startTestApp({ ...TEST_ADMIN_ENV, DOCUMENT_LIMIT_BYTES: String(LIMIT) });
  const admin = await adminActor(t);
  owner = await createActor(t, admin.token, 'builder', 'jobs-owner');
}, 120_000);
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});
afterEach(() => vi.restoreAllMocks());

describe('an upload', () => {
  it('with wait=0 answers 202 and a Location, and the document becomes ready', async () => {
    const name = await newCollection();
    const res = await upload(name, { file_name: 'light.md', content: LIGHTHOUSE }, '?wait=0');
    expect([200, 202]).toContain(res.status);
    if (res.status === 202) {
      expect(res.headers.location).toBe(
        `/api/collections/${name}/documents/${res.body.document_id}`,
      );
      expect(['queued', 'processing']).toContain(res.body.status);
    }
    const ready = await readyWithin(name, res.body.document_id);
    expect(ready).toMatchObject({ file_name: 'light.md', content_type: 'text/markdown' });
    expect(ready.chunks).toBeGreaterThan(0);
    expect(ready.progress).toBeUndefined();
    const found = await hits(name, 'Who logs the tide tables?');
    expect(found[0]?.document_string).toContain('Okonkwo');
    const got = await t.api('GET', `/collections/${name}`, { token: owner.token });
    expect(got.body).toMatchObject({ documents: 1, chunks: ready.chunks });
  });

  it('of a Markdown file as multipart is stored with its attributes and found', async () => {
    const name = await newCollection();
    const res = await multipart(name, {
      file: { name: 'ferry.md', type: 'text/markdown', bytes: Buffer.from(FERRY) },
      fields: { doc_path: 'island/ferry.md', attributes: '{"lang":"en","year":2024,"ok":true}' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      file_name: 'ferry.md',
      doc_path: 'island/ferry.md',
      attributes: { lang: 'en', year: 2024, ok: true },
      bytes: Buffer.byteLength(FERRY),
    });
    expect((await hits(name, 'When does the ferry leave?'))[0]?.document_string).toContain('seven');
    expect((await getDocument(name, res.body.document_id)).body.attributes).toEqual({
      lang: 'en',
      year: 2024,
      ok: true,
    });
  });

  it('is refused at once, storing nothing: size 413, format 415, empty file and bad attributes 400', async () => {
    const name = await newCollection();
    const tooBig = Buffer.alloc(LIMIT + 1, 'a');
    const cases = [
      [await upload(name, { file_name: 'big.txt', content: tooBig.toString() }), 413, 'too_large'],
      [
        await multipart(name, { file: { name: 'big.txt', type: 'text/plain', bytes: tooBig } }),
        413,
        'too_large',
      ],
      [
        await upload(name, {
          file_name: 'x.bin',
          content_base64: Buffer.from([0, 1, 2, 3]).toString('base64'),
        }),
        415,
        'unsupported_format',
      ],
      [
        await multipart(name, {
          file: { name: 'x.bin', type: 'application/octet-stream', bytes: Buffer.from([0, 9, 0]) },
        }),
        415,
        'unsupported_format',
      ],
      [
        await multipart(name, {
          file: { name: 'e.txt', type: 'text/plain', bytes: Buffer.alloc(0) },
        }),
        400,
        undefined,
      ],
      [await multipart(name, { fields: { doc_path: 'nothing' } }), 400, undefined],
      [
        await multipart(name, {
          file: { name: 'a.txt', type: 'text/plain', bytes: Buffer.from('words') },
          fields: { attributes: 'not json' },
        }),
        400,
        undefined,
      ],
      [
        await upload(name, {
          file_name: 'a.txt',
          content: 'words',
          attributes: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
        }),
        400,
        undefined,
      ],
      [
        await upload(name, { file_name: 'a.txt', content: 'w', attributes: { '1bad': 1 } }),
        400,
        undefined,
      ],
      [
        await upload(name, { file_name: 'a.txt', content: 'w', url: 'https://example.com/' }),
        400,
        undefined,
      ],
      [await upload(name, { file_name: 'a.txt', content: 'w' }, '?wait=soon'), 400, undefined],
      [await upload(name, { file_name: 'a.txt', content: 'w' }, '?wait=301'), 400, undefined],
    ] as const;
    for (const [res, status, reason] of cases) {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      if (reason) expect(res.body).toMatchObject({ reason });
    }
    expect(await listed(name)).toEqual([]);
  });

  it('of a URL whose address is refused answers 400 at once, storing nothing', async () => {
    const name = await newCollection();
    const res = await upload(name, { url: 'http://127.0.0.1:9/secret' });
    expect(res.status).toBe(400);
    expect(['blocked_address', 'fetch_failed']).toContain((res.body as { reason?: string }).reason);
    expect(await listed(name)).toEqual([]);
  });

  it('under one Idempotency-Key answers the same document for the same form, 422 for another file', async () => {
    const name = await newCollection();
    const file = { name: 'ferry.md', type: 'text/markdown', bytes: Buffer.from(FERRY) };
    const key = { 'idempotency-key': `form-${Date.now()}` };
    const first = await multipart(name, { file, fields: { doc_path: 'f' } }, key);
    const again = await multipart(name, { file, fields: { doc_path: 'f' } }, key);
    expect(first.status).toBe(200);
    expect(again.body.document_id).toBe(first.body.document_id);
    const other = await multipart(
      name,
      { file: { ...file, bytes: Buffer.from(LIGHTHOUSE) }, fields: { doc_path: 'f' } },
      key,
    );
    expect(other.status).toBe(422);
    expect(await listed(name)).toHaveLength(1);
  });
});

describe('a job', () => {
  it('keeps the document invisible until it is ready, then all of it is found', async () => {
    const name = await newCollection();
    const gate = holdJobs();
    const res = await upload(name, { file_name: 'light.md', content: LIGHTHOUSE }, '?wait=0');
    expect(res.status).toBe(202);
    await gate.held;
    expect((await getDocument(name, res.body.document_id)).body).toMatchObject({
      status: 'processing',
      chunks: 0,
    });
    expect(await hits(name, 'tide tables')).toEqual([]);
    expect((await listed(name)).map((d) => d.status)).toEqual(['processing']);
    const counts = await t.api('GET', `/collections/${name}`, { token: owner.token });
    expect(counts.body).toMatchObject({ documents: 0, chunks: 0 });
    gate.release();
    const ready = await readyWithin(name, res.body.document_id);
    expect((await hits(name, 'tide tables')).length).toBe(ready.chunks);
  });

  it('is cancelled by deleting its document while processing: 404 after, nothing stored', async () => {
    const name = await newCollection();
    const gate = holdJobs();
    const res = await upload(name, { file_name: 'light.md', content: LIGHTHOUSE }, '?wait=0');
    await gate.held;
    const deleted = await t.api(
      'DELETE',
      `/collections/${name}/documents/${res.body.document_id}`,
      {
        token: owner.token,
      },
    );
    expect(deleted.status).toBe(200);
    gate.release();
    expect((await getDocument(name, res.body.document_id)).status).toBe(404);
    await vi.waitFor(async () =>
      expect(await jobsRepository.status(t.app.db, res.body.document_id)).toBeUndefined(),
    );
    const chunks = await t.app.db
      .selectFrom('chunks')
      .select('id')
      .where('document_id', '=', res.body.document_id)
      .execute();
    expect(chunks).toEqual([]);
    expect(await hits(name, 'tide tables')).toEqual([]);
  });

  it('fails with embedding_failed when the embedder fails, and a retry makes it ready', async () => {
    const name = await newCollection();
    failNextEmbedding();
    const res = await upload(name, { file_name: 'light.md', content: LIGHTHOUSE });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'embedding_failed' } });
    expect(await hits(name, 'tide tables')).toEqual([]);
    const retried = await t.api<CollectionDocument>(
      'POST',
      `/collections/${name}/documents/${res.body.document_id}/retry`,
      { token: owner.token },
    );
    expect(retried.status).toBe(200);
    expect(['queued', 'processing', 'ready']).toContain(retried.body.status);
    await readyWithin(name, res.body.document_id);
    expect((await hits(name, 'tide tables')).length).toBeGreaterThan(0);
    const again = await t.api(
      'POST',
      `/collections/${name}/documents/${res.body.document_id}/retry`,
      {
        token: owner.token,
      },
    );
    expect(again.status).toBe(409);
  });
});

describe('replacing a doc_path', () => {
  it('keeps the old document searchable until the new one is ready, then lists only the new one', async () => {
    const name = await newCollection();
    const old = await upload(name, { file_name: 'a.md', doc_path: 'p', content: LIGHTHOUSE });
    expect(old.body.status).toBe('ready');
    const gate = holdJobs();
    const next = await upload(
      name,
      { file_name: 'b.md', doc_path: 'p', content: FERRY },
      '?wait=0',
    );
    await gate.held;
    expect((await hits(name, 'tide tables'))[0]?.document_string).toContain('Okonkwo');
    expect((await listed(name)).map((d) => d.status).sort()).toEqual(['processing', 'ready']);
    gate.release();
    await readyWithin(name, next.body.document_id);
    expect((await listed(name)).map((d) => d.document_id)).toEqual([next.body.document_id]);
    expect(await hits(name, 'Okonkwo tide tables')).not.toContainEqual(
      expect.objectContaining({ document_string: expect.stringContaining('Okonkwo') }),
    );
  });

  it('that fails leaves the old document, and both are listed', async () => {
    const name = await newCollection();
    const old = await upload(name, { file_name: 'a.md', doc_path: 'p', content: LIGHTHOUSE });
    failNextEmbedding();
    const next = await upload(name, { file_name: 'b.md', doc_path: 'p', content: FERRY });
    expect(next.body.status).toBe('failed');
    const docs = await listed(name);
    expect(docs.map((d) => [d.document_id, d.status])).toEqual([
      [old.body.document_id, 'ready'],
      [next.body.document_id, 'failed'],
    ]);
    expect((await hits(name, 'tide tables'))[0]?.document_string).toContain('Okonkwo');
  });

  it('settles racing uploads of one path to one listed document', async () => {
    const name = await newCollection();
    const results = await Promise.all(
      [LIGHTHOUSE, FERRY, `${FERRY}\nAgain.`].map((content, i) =>
        upload(name, { file_name: `${i}.md`, doc_path: 'same', content }),
      ),
    );
    // Each is ready, or was replaced by a later one that became ready first (409 superseded).
    for (const r of results) {
      expect([200, 409]).toContain(r.status);
      if (r.status === 409) expect(r.body).toMatchObject({ reason: 'superseded' });
    }
    await vi.waitFor(async () => {
      const docs = await listed(name);
      expect(docs.map((d) => d.status)).toEqual(['ready']);
    });
  });
});

describe('a collection deleted while a job runs', () => {
  it('leaves nothing behind', async () => {
    const name = await newCollection();
    const gate = holdJobs();
    const res = await upload(name, { file_name: 'light.md', content: LIGHTHOUSE }, '?wait=0');
    await gate.held;
    expect((await t.api('DELETE', `/collections/${name}`, { token: owner.token })).status).toBe(
      200,
    );
    gate.release();
    await vi.waitFor(async () =>
      expect(await jobsRepository.status(t.app.db, res.body.document_id)).toBeUndefined(),
    );
    const chunks = await t.app.db
      .selectFrom('chunks')
      .select('id')
      .where('document_id', '=', res.body.document_id)
      .execute();
    expect(chunks).toEqual([]);
  });
});
