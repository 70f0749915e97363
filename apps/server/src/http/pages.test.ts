import { encodeCursor } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

let t: TestApp;
let api: RestCall;
let admin: Actor;
let builder: Actor;
let personaId: string;
let historyId: string;
const COLLECTION = 'paged';
const HISTORY_MESSAGES = 120;

type Page = Record<string, unknown> & { next_cursor: string | null };

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  api = restClient(t.app.http);
  admin = await adminActor(t);
  builder = await createActor(t, admin.token, 'builder');
  for (let i = 0; i < 4; i += 1) await createActor(t, admin.token, 'user');
  const db = t.database.db;
  // One multi-row insert: every row gets the same now(), so the pages must break ties by id.
  const personas = await db
    .insertInto('personas')
    .values(
      Array.from({ length: 5 }, (_, i) => ({
        name: `Paged ${i}`,
        creator_id: builder.id,
        model: 'offline',
        temperature: 0.7,
        visibility: 'public',
        query_metric: 'cosine',
        query_threshold: 0.3,
        top_k: 4,
        rag_mode: 'hybrid',
      })),
    )
    .returning('id')
    .execute();
  personaId = personas[0]?.id ?? '';
  const collections = await db
    .insertInto('collections')
    .values(
      ['paged', 'paged-b', 'paged-c', 'paged-d', 'paged-e'].map((name) => ({
        name,
        owner_id: builder.id,
        visibility: 'private',
        embedding_model: 'offline-hashing-v1',
        dimensions: 384,
      })),
    )
    .returning('id')
    .execute();
  await db
    .insertInto('documents')
    .values(
      Array.from({ length: 5 }, (_, i) => ({
        collection_id: collections[0]?.id ?? '',
        file_name: `doc-${i}.md`,
        content_type: 'text/markdown',
        content_sha256: `sha-${i}`,
        bytes: 10,
        chunk_count: 0,
      })),
    )
    .execute();
  for (let i = 0; i < 5; i += 1) {
    const key = await api('POST', '/auth/api-keys', {
      token: builder.token,
      body: { name: `k${i}` },
    });
    expect(key.status).toBe(200);
  }
  const histories = await db
    .insertInto('message_histories')
    .values(
      Array.from({ length: 5 }, (_, i) => ({
        user_id: builder.id,
        persona_id: personaId,
        title: `History ${i}`,
      })),
    )
    .returning('id')
    .execute();
  historyId = histories[0]?.id ?? '';
  await db
    .insertInto('messages')
    .values(
      Array.from({ length: HISTORY_MESSAGES }, (_, i) => ({
        history_id: historyId,
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `message ${i}`,
        rag_hit: null,
      })),
    )
    .execute();
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

function withQuery(path: string, query: Record<string, string>): string {
  const qs = new URLSearchParams(query).toString();
  return `${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

/** Follows next_cursor from the first page to the last (at most 100 pages). */
async function walk(path: string, key: string, token: string, limit: number) {
  const items: { id: string }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: Record<string, string> = { limit: String(limit) };
    if (cursor) query.cursor = cursor;
    const res = await api<Page>('GET', withQuery(path, query), { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const list = res.body[key] as { id: string }[];
    expect(list.length).toBeLessThanOrEqual(limit);
    items.push(...list);
    cursor = res.body.next_cursor;
    pages += 1;
  } while (cursor !== null && pages < 100);
  return { items, pages };
}

const LISTS = [
  { path: '/users', key: 'users', id: 'user_id', as: () => admin },
  { path: '/personas', key: 'personas', id: 'persona_id', as: () => builder },
  { path: '/collections', key: 'collections', id: 'name', as: () => builder },
  {
    path: `/collections/${COLLECTION}/documents`,
    key: 'documents',
    id: 'document_id',
    as: () => builder,
  },
  { path: '/auth/api-keys', key: 'api_keys', id: 'api_key_id', as: () => builder },
  {
    path: '/personas/{persona}/message_history',
    key: 'messages',
    id: 'id',
    as: () => builder,
  },
];
const resolve = (path: string) => path.replace('{persona}', personaId);

describe('every list pages by cursor', () => {
  for (const list of LISTS) {
    it(`${list.path}: 3 pages, no duplicate, no gap, next_cursor null at the end`, async () => {
      const token = list.as().token;
      const all = await api<Page>('GET', withQuery(resolve(list.path), { limit: '200' }), {
        token,
      });
      expect(all.status).toBe(200);
      expect(all.body.next_cursor).toBeNull();
      const everyId = (all.body[list.key] as Record<string, string>[]).map((r) => r[list.id]);
      expect(everyId.length).toBeGreaterThanOrEqual(5);
      const limit = Math.ceil(everyId.length / 3);
      const { items, pages } = await walk(resolve(list.path), list.key, token, limit);
      expect(pages).toBe(3);
      const walked = (items as unknown as Record<string, string>[]).map((r) => r[list.id]);
      expect(new Set(walked).size).toBe(walked.length);
      expect(walked).toEqual(everyId);
    });

    it(`${list.path}: limit defaults to 50 and is bounded 1–200, digits only`, async () => {
      const token = list.as().token;
      const path = resolve(list.path);
      const plain = await api<Page>('GET', path, { token });
      expect(plain.status).toBe(200);
      expect((plain.body[list.key] as unknown[]).length).toBeLessThanOrEqual(50);
      expect(plain.body).toHaveProperty('next_cursor');
      for (const limit of ['0', '201', '0x10', '1e1', '-1', '2.5', 'abc']) {
        const res = await api('GET', withQuery(path, { limit }), { token });
        expect(res.status, limit).toBe(400);
        expect(res.body).toMatchObject({ code: 'BAD_REQUEST' });
      }
      expect((await api('GET', withQuery(path, { limit: '200' }), { token })).status).toBe(200);
      expect((await api('GET', withQuery(path, { limit: '1' }), { token })).status).toBe(200);
    });

    it(`${list.path}: a malformed or foreign cursor is a 400`, async () => {
      const token = list.as().token;
      const path = resolve(list.path);
      const forged = [
        'not-a-cursor!',
        'e30',
        encodeCursor(['2026-02-31T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000']),
        encodeCursor(['after', 'x', 'y']),
        encodeCursor(["'; drop table users; --"]),
      ];
      for (const cursor of forged) {
        const res = await api('GET', withQuery(path, { cursor }), { token });
        expect(res.status, cursor).toBe(400);
        expect(res.body).toMatchObject({ code: 'BAD_REQUEST' });
      }
    });
  }

  it('keeps accepting offset on the routes that took it (deprecated)', async () => {
    for (const [path, key, token] of [
      ['/users', 'users', admin.token],
      ['/personas', 'personas', builder.token],
    ] as const) {
      const all = await api<Page>('GET', path, { token });
      const skipped = await api<Page>('GET', withQuery(path, { offset: '2', limit: '2' }), {
        token,
      });
      expect(skipped.status).toBe(200);
      expect(skipped.body[key]).toEqual((all.body[key] as unknown[]).slice(2, 4));
      expect(skipped.body.next_cursor).not.toBeNull();
      expect((await api('GET', withQuery(path, { offset: '0x2' }), { token })).status).toBe(400);
    }
  });

  it('keeps /personas/owned the bare {id: name} map', async () => {
    const owned = await api<Record<string, string>>('GET', '/personas/owned', {
      token: builder.token,
    });
    expect(owned.status).toBe(200);
    expect(Object.keys(owned.body)).toHaveLength(5);
    expect(owned.body).not.toHaveProperty('next_cursor');
  });

  it('pages on tRPC too, with JSON numbers', async () => {
    const input = encodeURIComponent(JSON.stringify({ limit: 2 }));
    const res = await t.app.http.inject({
      method: 'GET',
      url: `/trpc/personas.list?input=${input}`,
      headers: { authorization: `Bearer ${builder.token}` },
    });
    expect(res.statusCode).toBe(200);
    const data = res.json().result.data as { personas: unknown[]; next_cursor: string | null };
    expect(data.personas).toHaveLength(2);
    expect(data.next_cursor).toEqual(expect.any(String));
  });
});

describe('a long history comes back bounded, with a cursor back to its oldest message', () => {
  type Message = { id: string; content: string };
  type History = { messages: Message[]; messages_next_cursor: string | null };
  const contents = (ms: Message[]) => ms.map((m) => m.content);
  const expected = Array.from({ length: HISTORY_MESSAGES }, (_, i) => `message ${i}`);

  it('GET /message_histories/{id}: the latest 50, and older ones through the cursor', async () => {
    const res = await api<History>('GET', `/message_histories/${historyId}`, {
      token: builder.token,
    });
    expect(res.status).toBe(200);
    expect(contents(res.body.messages)).toEqual(expected.slice(-50));
    const older: Message[] = [];
    let cursor = res.body.messages_next_cursor;
    for (let pages = 0; cursor !== null && pages < 10; pages += 1) {
      const page = await api<{ messages: Message[]; next_cursor: string | null }>(
        'GET',
        withQuery(`/message_histories/${historyId}/messages`, { cursor, limit: '30' }),
        { token: builder.token },
      );
      expect(page.status).toBe(200);
      older.unshift(...page.body.messages);
      cursor = page.body.next_cursor;
    }
    expect(cursor).toBeNull();
    expect(contents([...older, ...res.body.messages])).toEqual(expected);
  });

  it('GET /message_histories/{id}/messages pages oldest first to the end', async () => {
    const { items, pages } = await walk(
      `/message_histories/${historyId}/messages`,
      'messages',
      builder.token,
      50,
    );
    expect(pages).toBe(3);
    expect(contents(items as unknown as Message[])).toEqual(expected);
    const other = await createActor(t, admin.token, 'user');
    const foreign = await api('GET', `/message_histories/${historyId}/messages`, {
      token: other.token,
    });
    expect(foreign.status).toBe(404);
  });

  it("the seed's message_history route keeps its shape, bounded per history", async () => {
    const res = await api<{ persona_id: string; messages: History[]; next_cursor: null }>(
      'GET',
      `/personas/${personaId}/message_history`,
      { token: builder.token },
    );
    expect(res.status).toBe(200);
    expect(res.body.persona_id).toBe(personaId);
    expect(res.body.next_cursor).toBeNull();
    const long = res.body.messages.find((h) => h.messages.length > 0);
    expect(long?.messages).toHaveLength(50);
    expect(long?.messages_next_cursor).toEqual(expect.any(String));
    const short = res.body.messages.filter((h) => h.messages.length === 0);
    expect(short).toHaveLength(4);
    expect(short.every((h) => h.messages_next_cursor === null)).toBe(true);
  });
});
