/**
 * A start listens at once and loads the indexes in the background: meanwhile `/healthz` answers,
 * `/readyz` is a 503 `indexes_loading`, writes are accepted (they are in Postgres's change log),
 * and a search or a chat waits briefly and then answers 503 with `Retry-After`. Once loaded,
 * what was written meanwhile is found. An open that fails (Postgres down at start) is retried.
 *
 * `openChunkIndexes` is wrapped so the test decides when the load may finish: the first attempt
 * fails, the second waits for the gate.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

const gate = vi.hoisted(() => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { attempts: 0, opened, open };
});
vi.mock(import('./chunk-indexes'), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    openChunkIndexes: async (...args: Parameters<typeof original.openChunkIndexes>) => {
      gate.attempts++;
      if (gate.attempts === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      await gate.opened;
      return original.openChunkIndexes(...args);
    },
  };
});

let t: TestApp;
let api: RestCall;
let builder: Actor;
let personaId: string;

const SENTENCE = 'The lighthouse keeper logs the tide at dawn.';

beforeAll(async () => {
  t = await startTestApp(
    { ...TEST_ADMIN_ENV, INDEX_READY_WAIT_MS: '100' },
    { awaitIndexes: false },
  );
  api = restClient(t.app.http);
  const admin = await adminActor(t);
  builder = await createActor(t, admin.token, 'builder');
});
afterAll(async () => {
  gate.open();
  await t?.[Symbol.asyncDispose]();
});

describe('while the indexes load', () => {
  it('is alive but not ready: /healthz 200, /readyz 503 indexes_loading with Retry-After', async () => {
    expect((await t.app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await t.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['retry-after']).toBe('5');
    expect(ready.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'indexes_loading',
      vector_indexes: { loaded: 0, rebuilt: 0 },
      lag: null,
    });
  });

  it('accepts writes, and answers searches and chats 503 with Retry-After after a short wait', async () => {
    const created = await api('POST', '/collections', {
      token: builder.token,
      body: { name: 'harbour' },
    });
    expect(created.status).toBe(200);
    const added = await api<{ chunks: number }>('POST', '/collections/harbour/documents', {
      token: builder.token,
      body: { file_name: 'log.txt', content: SENTENCE },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const persona = await api<{ persona_id: string }>('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'Keeper', rag: { db_collections: ['harbour'] } },
    });
    expect(persona.status).toBe(200);
    personaId = persona.body.persona_id;

    const search = await t.app.http.inject({
      method: 'POST',
      url: '/api/collections/harbour/search',
      headers: { authorization: `Bearer ${builder.token}`, 'content-type': 'application/json' },
      payload: { query: 'lighthouse tide' },
    });
    expect(search.statusCode).toBe(503);
    expect(search.headers['retry-after']).toBe('5');
    expect(search.json()).toMatchObject({ reason: 'indexes_loading' });

    const chat = await api('POST', `/personas/${personaId}/chat`, {
      token: builder.token,
      body: { content: 'When does the keeper log the tide?' },
    });
    expect(chat.status).toBe(503);
    expect(chat.body).toMatchObject({ reason: 'indexes_loading' });
  });

  it('retried the open that failed, and once loaded finds what was written meanwhile', async () => {
    // The first attempt failed; the second waits at the gate.
    await vi.waitFor(() => expect(gate.attempts).toBe(2), { timeout: 10_000 });
    gate.open();
    await t.app.indexesLoaded;
    expect((await t.app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const search = await api<{ hits: { document_string: string }[] }>(
      'POST',
      '/collections/harbour/search',
      { token: builder.token, body: { query: 'lighthouse tide' } },
    );
    expect(search.status).toBe(200);
    expect(search.body.hits.map((h) => h.document_string)).toEqual([SENTENCE]);
    const chat = await api('POST', `/personas/${personaId}/chat`, {
      token: builder.token,
      body: { content: 'When does the keeper log the tide?' },
    });
    expect(chat.status).toBe(200);
  });
});
