/**
 * Retrieval that says where a hit came from (document_id, page, attributes) and filters by
 * document attributes, on the search route and in a persona's chat, over REST, tRPC and /v1.
 *
 * Documents are added through today's JSON route; their attributes and their chunks' pages are
 * then set in the database, as ingestion of PDFs and attributes will store them.
 */
import type { ChatResponse, Persona, RagHit } from '@personas/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';

const COLLECTION = 'library';
/** Only far documents (cycling) in a collection full of near ones (tea): see "before the cut". */
const MIXED = 'mixed';

let t: TestApp;
let builder: Actor;
const ids: Record<string, string> = {};

async function addDocument(collection: string, fileName: string, content: string) {
  const res = await t.api<{ document_id: string }>('POST', `/collections/${collection}/documents`, {
    token: builder.token,
    body: { file_name: fileName, content },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.document_id;
}

/** What ingestion will store: the document's attributes, and optionally its chunks' page. */
async function describeDocument(
  documentId: string,
  attributes: Record<string, unknown>,
  page?: number,
) {
  await t.database.db
    .updateTable('documents')
    .set({ attributes: JSON.stringify(attributes) })
    .where('id', '=', documentId)
    .execute();
  if (page !== undefined) {
    await t.database.db
      .updateTable('chunks')
      .set({ page: sql<number>`${page} + position` })
      .where('document_id', '=', documentId)
      .execute();
  }
}

async function search(body: Record<string, unknown>, collection = COLLECTION) {
  return t.api<{ hits: RagHit[] } & { detail?: string; issues?: { path: string }[] }>(
    'POST',
    `/collections/${collection}/search`,
    { token: builder.token, body },
  );
}

async function hitsFor(body: Record<string, unknown>, collection = COLLECTION) {
  const res = await search({ query: 'tea brewing temperature', top_k: 20, ...body }, collection);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.hits;
}

const fileNames = (hits: RagHit[]) => [...new Set(hits.map((h) => h.file_name))].sort();

async function trpc<T>(procedure: string, input: unknown): Promise<T> {
  const res = await t.app.http.inject({
    method: 'POST',
    url: `/trpc/${procedure}`,
    headers: { authorization: `Bearer ${builder.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(input),
  });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { result: { data: T } }).result.data;
}

async function buildPersona(rag: Record<string, unknown>) {
  const res = await t.api<{ persona_id: string }>('POST', '/personas/build', {
    token: builder.token,
    body: {
      persona_name: 'Librarian',
      rag: { db_collections: [COLLECTION], query_threshold: -1, top_k: 10, ...rag },
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.persona_id;
}

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  builder = await createActor(t, (await adminActor(t)).token, 'builder');
  for (const name of [COLLECTION, MIXED]) {
    const res = await t.api('POST', '/collections', { token: builder.token, body: { name } });
    expect(res.status).toBe(200);
  }
  ids.guide = await addDocument(
    COLLECTION,
    'tea-guide.pdf',
    'Green tea is brewed at 80 degrees for two minutes. Black tea wants boiling water and four minutes.',
  );
  ids.leitfaden = await addDocument(
    COLLECTION,
    'tee-leitfaden.pdf',
    'Grüner Tee wird bei 80 Grad zwei Minuten gebrüht. Tea brewing temperature matters.',
  );
  ids.archive = await addDocument(
    COLLECTION,
    'tea-archive.txt',
    'An old note on tea brewing temperature from 1998, kept for the record.',
  );
  ids.plain = await addDocument(COLLECTION, 'notes.txt', 'Tea brewing notes without attributes.');
  await describeDocument(ids.guide, { language: 'en', year: 2024, reviewed: true }, 7);
  await describeDocument(ids.leitfaden, { language: 'de', year: 2023, reviewed: true }, 1);
  await describeDocument(ids.archive, { language: 'en', year: '2024', reviewed: false });

  for (let i = 0; i < 12; i++) {
    const id = await addDocument(
      MIXED,
      `tea-${i}.md`,
      `Tea brewing temperature guide ${i}: steep the tea leaves in hot water, tea ${i}.`,
    );
    await describeDocument(id, { topic: 'tea' });
  }
  for (const name of ['chain.md', 'saddle.md']) {
    const id = await addDocument(
      MIXED,
      name,
      `Bicycle maintenance: oil the ${name.split('.')[0]} monthly and check the tyres.`,
    );
    await describeDocument(id, { topic: 'cycling' });
  }
}, 120_000);

afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('hits say where they came from', () => {
  it('carries document_id, page and attributes on search', async () => {
    const hits = await hitsFor({});
    const guide = hits.find((h) => h.file_name === 'tea-guide.pdf')!;
    expect(guide).toMatchObject({
      document_id: ids.guide,
      page: 7,
      attributes: { language: 'en', year: 2024, reviewed: true },
    });
    expect(hits.find((h) => h.file_name === 'notes.txt')).toMatchObject({
      document_id: ids.plain,
      page: null,
      attributes: {},
    });
  });

  it('carries them on tRPC too', async () => {
    const { hits } = await trpc<{ hits: RagHit[] }>('collections.search', {
      name: COLLECTION,
      query: 'green tea',
      top_k: 20,
      filter: { language: 'de' },
    });
    expect(hits.map((h) => [h.document_id, h.page, h.attributes])).toEqual([
      [ids.leitfaden, 1, { language: 'de', year: 2023, reviewed: true }],
    ]);
  });
});

describe('filter on the search route', () => {
  it('keeps the documents with a value', async () => {
    expect(fileNames(await hitsFor({ filter: { language: 'en' } }))).toEqual([
      'tea-archive.txt',
      'tea-guide.pdf',
    ]);
  });

  it('takes a list as any of its values', async () => {
    expect(fileNames(await hitsFor({ filter: { language: ['de', 'fr'] } }))).toEqual([
      'tee-leitfaden.pdf',
    ]);
    expect(fileNames(await hitsFor({ filter: { year: [2023, 2024] } }))).toEqual([
      'tea-guide.pdf',
      'tee-leitfaden.pdf',
    ]);
  });

  it('requires every key, compares as JSON (2024 is not "2024") and in both modes', async () => {
    for (const mode of ['hybrid', 'vector']) {
      expect(fileNames(await hitsFor({ mode, filter: { language: 'en', year: 2024 } }))).toEqual([
        'tea-guide.pdf',
      ]);
      expect(fileNames(await hitsFor({ mode, filter: { year: '2024' } }))).toEqual([
        'tea-archive.txt',
      ]);
      expect(fileNames(await hitsFor({ mode, filter: { reviewed: false } }))).toEqual([
        'tea-archive.txt',
      ]);
    }
  });

  it('answers no hits when nothing matches, and a document without the key never matches', async () => {
    expect(await hitsFor({ filter: { language: 'fr' } })).toEqual([]);
    expect(await hitsFor({ filter: { missing: 'x' } })).toEqual([]);
    // `{}` filters nothing.
    expect(fileNames(await hitsFor({ filter: {} }))).toHaveLength(4);
  });

  it.each([
    ['an empty list', { language: [] }],
    ['a nested object', { language: { en: true } }],
    ['a null value', { language: null }],
    ['a list of lists', { language: [['en']] }],
    ['more than 16 keys', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 1]))],
    ['more than 100 values', { year: Array.from({ length: 101 }, (_, i) => i) }],
    ['not an object', 'en'],
    // Text jsonb cannot hold: refused up front rather than failing in the database.
    ['a NUL in a key', { 'lang\u0000': 'en' }],
    ['an unpaired surrogate', { language: ['en', '\ud800'] }],
  ])('refuses %s with a 400 naming filter', async (_, filter) => {
    const res = await search({ query: 'tea', filter });
    expect(res.status).toBe(400);
    expect(res.body.issues?.[0]?.path).toMatch(/^filter\b/);
    expect(res.body.detail).toMatch(/^Invalid input: filter/);
  });
});

describe('a filter applies before the cut to top_k', () => {
  it('returns the matching chunks however far they are from the query', async () => {
    for (const mode of ['hybrid', 'vector']) {
      // The premise: unfiltered, the top 3 are all tea.
      const unfiltered = await hitsFor({ mode, top_k: 3 }, MIXED);
      expect(unfiltered).toHaveLength(3);
      expect(unfiltered.every((h) => h.attributes.topic === 'tea')).toBe(true);
      const filtered = await hitsFor({ mode, top_k: 3, filter: { topic: 'cycling' } }, MIXED);
      expect(fileNames(filtered)).toEqual(['chain.md', 'saddle.md']);
    }
  });
});

describe('filter on a persona', () => {
  let personaId: string;

  beforeAll(async () => {
    personaId = await buildPersona({ filter: { language: 'en', year: [2024] } });
  });

  it('is stored and returned with the persona, and can be changed and removed', async () => {
    const read = await t.api<Persona>('GET', `/personas/${personaId}`, { token: builder.token });
    expect(read.body.rag.filter).toEqual({ language: 'en', year: [2024] });
    const other = await buildPersona({});
    const plain = await t.api<Persona>('GET', `/personas/${other}`, { token: builder.token });
    expect(plain.body.rag.filter).toEqual({});
    for (const filter of [{ reviewed: true }, {}]) {
      const put = await t.api('PUT', `/personas/build/${other}`, {
        token: builder.token,
        body: { rag: { filter } },
      });
      expect(put.status).toBe(200);
      const after = await t.api<Persona>('GET', `/personas/${other}`, { token: builder.token });
      expect(after.body.rag.filter).toEqual(filter);
    }
  });

  it('refuses a bad filter with a 400 naming it', async () => {
    const res = await t.api('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'Bad', rag: { filter: { language: [] } } },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('filter.language');
  });

  it("limits a chat's hits over REST, and the prompt cites the page", async () => {
    const res = await t.api<ChatResponse>('POST', `/personas/${personaId}/chat`, {
      token: builder.token,
      body: { content: 'At what temperature is green tea brewed?' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(fileNames(res.body.rag_hits)).toEqual(['tea-guide.pdf']);
    expect(res.body.rag_hit).toMatchObject({ document_id: ids.guide, page: 7 });
    // The offline model quotes its passages by the source the prompt names them by.
    expect(res.body.response).toContain('From tea-guide.pdf, page 7:');
  });

  it('limits them over tRPC and /v1', async () => {
    const viaTrpc = await trpc<ChatResponse>('chat.send', {
      persona_id: personaId,
      content: 'tea brewing temperature',
    });
    expect(viaTrpc.rag_hits.map((h) => h.document_id)).toEqual([ids.guide]);
    expect(viaTrpc.rag_hits[0]).toMatchObject({ page: 7, attributes: { language: 'en' } });

    const v1 = await t.app.http.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${builder.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        model: personaId,
        messages: [{ role: 'user', content: 'tea brewing temperature' }],
      }),
    });
    expect(v1.statusCode, v1.body).toBe(200);
    const hits = (v1.json() as { rag_hits: RagHit[] }).rag_hits;
    expect(hits.map((h) => [h.document_id, h.page])).toEqual([[ids.guide, 7]]);
  });

  it('limits them on the streaming route, whose first event carries them', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: `/api/personas/${personaId}/chat/stream`,
      headers: { authorization: `Bearer ${builder.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'tea brewing temperature' }),
    });
    expect(res.statusCode).toBe(200);
    const meta = /^event: meta\ndata: (.*)$/m.exec(res.body)?.[1];
    const hits = (JSON.parse(meta ?? 'null') as { rag_hits: RagHit[] }).rag_hits;
    expect(hits.map((h) => [h.document_id, h.page])).toEqual([[ids.guide, 7]]);
  });

  it('keeps the stored message readable, with where its hit came from', async () => {
    const res = await t.api<ChatResponse>('POST', `/personas/${personaId}/chat`, {
      token: builder.token,
      body: { content: 'green tea' },
    });
    const history = await t.api<{ messages: { rag_hit?: RagHit | null }[] }>(
      'GET',
      `/message_histories/${res.body.message_history_id}`,
      { token: builder.token },
    );
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    expect(history.body.messages.at(-1)?.rag_hit).toMatchObject({
      document_id: ids.guide,
      page: 7,
    });

    // A message stored before hits carried these is shown as it was stored.
    await sql`update messages set rag_hit = rag_hit - 'document_id' - 'page' - 'attributes'
      where history_id = ${res.body.message_history_id} and rag_hit is not null`.execute(
      t.database.db,
    );
    const older = await t.api<{ messages: { rag_hit?: RagHit | null }[] }>(
      'GET',
      `/message_histories/${res.body.message_history_id}`,
      { token: builder.token },
    );
    expect(older.status, JSON.stringify(older.body)).toBe(200);
    const hit = older.body.messages.at(-1)?.rag_hit;
    expect(hit).toMatchObject({ file_name: 'tea-guide.pdf' });
    expect(hit).not.toHaveProperty('document_id');
  });
});
