import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IdempotencyInFlightError } from '@personas/contracts';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app';
import { connectDatabase } from '../db/connect';
import type { Database } from '../db/schema';
import { loadConfig } from '../env';
import { createLogger } from '../logger';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import {
  type FakeOpenAiServer,
  sendChatCompletion,
  startFakeOpenAiServer,
  streamChatCompletion,
} from '../test-support/fake-openai-server';
import { startTestApp, type TestApp } from '../test-support/test-app';
import { requestHash } from './request-hash';
import { createIdempotencyService } from './service';

const ENV = {
  ...TEST_ADMIN_ENV,
  LLM_PROVIDER: 'huggingface',
  HF_TOKEN: 'test-token',
  CHAT_RATE_LIMIT_PER_MINUTE: '1000',
};

/**
 * Holds every model call from `close()` until `open()`: a request under a key stays in flight
 * meanwhile. `close()` answers a promise of the first held call's arrival.
 */
function createGate() {
  let release: () => void = () => {};
  let held: Promise<void> = Promise.resolve();
  let arrive: (() => void) | null = null;
  return {
    close(): Promise<void> {
      held = new Promise((resolve) => {
        release = resolve;
      });
      return new Promise((resolve) => {
        arrive = resolve;
      });
    },
    open: () => release(),
    wait: () => {
      arrive?.();
      arrive = null;
      return held;
    },
  };
}

const gate = createGate();
let fake: FakeOpenAiServer;
let t: TestApp;
let admin: Actor;
let builder: Actor;
let alice: Actor;
let bob: Actor;
let personaId: string;

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** A REST or tRPC call through the whole HTTP stack, with an optional `Idempotency-Key`. */
async function call(
  http: App['http'],
  method: 'POST' | 'DELETE',
  url: string,
  opts: { token?: string; key?: string; body?: unknown } = {},
): Promise<Answer> {
  const res = await http.inject({
    method,
    url,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.key !== undefined ? { 'idempotency-key': opts.key } : {}),
    },
    payload: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
}

const rest = (url: string, opts: Parameters<typeof call>[3], http = t.app.http) =>
  call(http, 'POST', `/api${url}`, opts);

/** A tRPC mutation; answers its data (or its error) as the body. */
async function trpc(procedure: string, opts: Parameters<typeof call>[3]) {
  const res = await call(t.app.http, 'POST', `/trpc/${procedure}`, opts);
  const body = res.body as { result?: { data: Record<string, unknown> }; error?: unknown };
  return { ...res, data: body.result?.data, error: body.error };
}

async function count(table: 'personas' | 'messages' | 'message_histories' | 'users') {
  const row = await t.database.db
    .selectFrom(table)
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

beforeAll(async () => {
  fake = await startFakeOpenAiServer(async (req, res) => {
    await gate.wait();
    if (req.body.stream) await streamChatCompletion(res, ['Kept ', 'answer.']);
    else sendChatCompletion(res, 'Kept answer.');
  });
  t = await startTestApp({ ...ENV, HF_ENDPOINT_URL: fake.url });
  admin = await adminActor(t);
  builder = await createActor(t, admin.token, 'builder');
  alice = await createActor(t, admin.token, 'user', 'alice');
  bob = await createActor(t, admin.token, 'user', 'bob');
  const built = await rest('/personas/build', {
    token: builder.token,
    body: { persona_name: 'Keeper' },
  });
  expect(built.status).toBe(200);
  personaId = String(built.body.persona_id);
}, 120_000);

afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
  await fake?.close();
});

describe('Idempotency-Key on REST', () => {
  it('a retried build answers the same persona_id and makes one persona', async () => {
    const before = await count('personas');
    const body = { persona_name: 'Once', temperature: 0.5 };
    const first = await rest('/personas/build', { token: builder.token, key: 'build-1', body });
    // The same parsed JSON, keys in another order: the same request.
    const again = await rest('/personas/build', {
      token: builder.token,
      key: 'build-1',
      body: { temperature: 0.5, persona_name: 'Once' },
    });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await count('personas')).toBe(before + 1);
  });

  it('a retried chat answers the same history and stores one exchange', async () => {
    const before = await count('messages');
    const body = { content: 'Remember me once' };
    const url = `/personas/${personaId}/chat`;
    const first = await rest(url, { token: alice.token, key: 'chat-1', body });
    const again = await rest(url, { token: alice.token, key: 'chat-1', body });
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await count('messages')).toBe(before + 2);
  });

  it('the same key with another body is a 422', async () => {
    const url = `/personas/${personaId}/chat`;
    expect(
      (await rest(url, { token: alice.token, key: 'k-422', body: { content: 'a' } })).status,
    ).toBe(200);
    const other = await rest(url, { token: alice.token, key: 'k-422', body: { content: 'b' } });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({
      code: 'UNPROCESSABLE_CONTENT',
      reason: 'idempotency_key_reused',
    });
  });

  it('a key that is not 1–255 visible ASCII characters is a 400', async () => {
    for (const key of ['has space', 'x'.repeat(256), 'é']) {
      const res = await rest('/collections', {
        token: builder.token,
        key,
        body: { name: 'never-made' },
      });
      expect(res.status, key).toBe(400);
      expect(res.body).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('a duplicate while the first is in flight is one 409 with Retry-After, then the result', async () => {
    const before = await count('messages');
    const url = `/personas/${personaId}/chat`;
    const body = { content: 'Slow one' };
    const arrived = gate.close();
    const first = rest(url, { token: alice.token, key: 'slow-1', body });
    await arrived;
    const duplicate = await rest(url, { token: alice.token, key: 'slow-1', body });
    gate.open();
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'CONFLICT', reason: 'idempotency_in_flight' });
    expect(Number(duplicate.headers['retry-after'])).toBeGreaterThan(0);
    const done = await first;
    expect(done.status).toBe(200);
    expect((await rest(url, { token: alice.token, key: 'slow-1', body })).body).toEqual(done.body);
    expect(await count('messages')).toBe(before + 2);
  });

  it('a failed (4xx) request frees its key: the retry runs', async () => {
    const other = await createActor(t, admin.token, 'builder', 'other');
    const name = `taken-${Date.now()}`;
    expect((await rest('/collections', { token: other.token, body: { name } })).status).toBe(200);
    const refused = await rest('/collections', {
      token: builder.token,
      key: 'col-1',
      body: { name },
    });
    expect(refused.status).toBe(409);
    const deleted = await call(t.app.http, 'DELETE', `/api/collections/${name}`, {
      token: other.token,
    });
    expect(deleted.status).toBe(200);
    const retried = await rest('/collections', {
      token: builder.token,
      key: 'col-1',
      body: { name },
    });
    expect(retried.status).toBe(200);
  });

  it('two callers with the same key do not collide', async () => {
    const url = `/personas/${personaId}/chat`;
    const body = { content: 'Same words' };
    const a = await rest(url, { token: alice.token, key: 'shared', body });
    const b = await rest(url, { token: bob.token, key: 'shared', body });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.message_history_id).not.toBe(a.body.message_history_id);
  });

  it('register: the caller is the address plus the email', async () => {
    const users = await count('users');
    const body = { email: `once-${Date.now()}@example.com`, password: 'register-password' };
    const first = await rest('/auth/register', { key: 'reg-1', body });
    const again = await rest('/auth/register', { key: 'reg-1', body });
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const someoneElse = await rest('/auth/register', {
      key: 'reg-1',
      body: { ...body, email: `else-${Date.now()}@example.com` },
    });
    expect(someoneElse.status).toBe(200);
    expect(someoneElse.body.user_id).not.toBe(first.body.user_id);
    expect(await count('users')).toBe(users + 2);
  });

  it('API keys and documents: a retry creates nothing more', async () => {
    const key1 = await rest('/auth/api-keys', {
      token: builder.token,
      key: 'ak',
      body: { name: 'ci' },
    });
    const key2 = await rest('/auth/api-keys', {
      token: builder.token,
      key: 'ak',
      body: { name: 'ci' },
    });
    expect(key1.status).toBe(200);
    expect(key2.body).toEqual(key1.body);
    const name = `docs-${Date.now()}`;
    expect((await rest('/collections', { token: builder.token, body: { name } })).status).toBe(200);
    const doc = { file_name: 'a.md', content: '# A\n\nSome words about tea.' };
    const url = `/collections/${name}/documents`;
    const d1 = await rest(url, { token: builder.token, key: 'doc', body: doc });
    const d2 = await rest(url, { token: builder.token, key: 'doc', body: doc });
    expect(d1.status).toBe(200);
    expect(d2.body).toEqual(d1.body);
    const docs = await t.database.db
      .selectFrom('documents')
      .innerJoin('collections', 'collections.id', 'documents.collection_id')
      .where('collections.name', '=', name)
      .select('documents.id')
      .execute();
    expect(docs).toHaveLength(1);
  });
});

describe('Idempotency-Key on the SSE chat stream', () => {
  const stream = (key: string, body: unknown) =>
    t.app.http.inject({
      method: 'POST',
      url: `/api/personas/${personaId}/chat/stream`,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${alice.token}`,
        'idempotency-key': key,
      },
      payload: JSON.stringify(body),
    });

  it('answers 409 while the stream runs, then its result as the chat JSON', async () => {
    const before = await count('messages');
    const body = { content: 'Stream once' };
    const arrived = gate.close();
    const first = stream('stream-1', body);
    await arrived;
    const duplicate = await stream('stream-1', body);
    gate.open();
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ reason: 'idempotency_in_flight' });
    expect(Number(duplicate.headers['retry-after'])).toBeGreaterThan(0);
    const streamed = await first;
    expect(streamed.headers['content-type']).toContain('text/event-stream');
    const historyId = /"message_history_id":"([^"]+)"/.exec(streamed.body)?.[1];
    const replay = await stream('stream-1', body);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['content-type']).toContain('application/json');
    expect(replay.json()).toMatchObject({
      persona_id: personaId,
      message_history_id: historyId,
      response: 'Kept answer.',
    });
    expect(await count('messages')).toBe(before + 2);
    expect((await stream('stream-1', { content: 'Another' })).statusCode).toBe(422);
  });
});

describe('Idempotency-Key on tRPC', () => {
  it('a retried build answers the same persona_id and makes one persona', async () => {
    const before = await count('personas');
    const input = { persona_name: 'Over tRPC' };
    const first = await trpc('personas.build', {
      token: builder.token,
      key: 't-build',
      body: input,
    });
    const again = await trpc('personas.build', {
      token: builder.token,
      key: 't-build',
      body: input,
    });
    expect(first.status).toBe(200);
    expect(again.data).toEqual(first.data);
    expect(await count('personas')).toBe(before + 1);
    const other = await trpc('personas.build', {
      token: builder.token,
      key: 't-build',
      body: { persona_name: 'Else' },
    });
    expect(other.status).toBe(422);
  });

  it('a retried chat answers the same history with one exchange', async () => {
    const before = await count('messages');
    const input = { persona_id: personaId, content: 'Over tRPC' };
    const first = await trpc('chat.send', { token: alice.token, key: 't-chat', body: input });
    const again = await trpc('chat.send', { token: alice.token, key: 't-chat', body: input });
    expect(first.status).toBe(200);
    expect(again.data).toEqual(first.data);
    expect(await count('messages')).toBe(before + 2);
  });
});

describe('across server processes', () => {
  it('a second app on the same database replays, and sees the key in flight', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-idem-'));
    // On Postgres the second app has its own connections, as another process would.
    const own = t.database.url
      ? await connectDatabase({ databaseUrl: t.database.url, dataDir: null }, createLogger('warn'))
      : null;
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      ...ENV,
      HF_ENDPOINT_URL: fake.url,
      ADMIN_EMAIL: undefined,
      ADMIN_PASSWORD: undefined,
    } as Record<string, string | undefined>);
    const second = await createApp({ ...config, database: own ?? t.database });
    try {
      const before = await count('personas');
      const body = { persona_name: 'Twice?' };
      const first = await rest('/personas/build', { token: builder.token, key: 'x-build', body });
      const elsewhere = await rest(
        '/personas/build',
        { token: builder.token, key: 'x-build', body },
        second.http,
      );
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.body).toEqual(first.body);
      expect(await count('personas')).toBe(before + 1);

      const url = `/personas/${personaId}/chat`;
      const arrived = gate.close();
      const running = rest(url, { token: alice.token, key: 'x-chat', body: { content: 'hi' } });
      await arrived;
      const duplicate = await rest(
        url,
        { token: alice.token, key: 'x-chat', body: { content: 'hi' } },
        second.http,
      );
      gate.open();
      expect(duplicate.status).toBe(409);
      expect((await running).status).toBe(200);
    } finally {
      gate.open();
      await second.close();
      await own?.db.destroy();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('trim', () => {
  it('deletes keys older than the lifetime', async () => {
    const db = t.database.db as Kysely<Database>;
    await db
      .insertInto('idempotency_keys')
      .values({
        caller: 'user:old',
        key: 'old',
        request_hash: 'x',
        state: 'done',
        status: 200,
        response: '{}',
        created_at: sql<Date>`now() - interval '25 hours'`,
      })
      .execute();
    const keys = createIdempotencyService(t.database.db, { ttlMs: 24 * 3_600_000 });
    const claim = { caller: 'user:new', key: 'new', request: { operation: 'x', input: {} } };
    expect(await keys.claim(claim)).toEqual({ state: 'claimed' });
    const left = await db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('caller', '=', 'user:old')
      .execute();
    expect(left).toEqual([]);
  });

  it('frees a key left in flight past its lease (its process died), not one still running', async () => {
    const db = t.database.db as Kysely<Database>;
    const request = { operation: 'x', input: {} };
    const abandoned = (key: string, age: string) =>
      db
        .insertInto('idempotency_keys')
        .values({
          caller: 'user:crashed',
          key,
          request_hash: requestHash(request),
          state: 'in_flight',
          created_at: sql<Date>`now() - ${age}::interval`,
        })
        .execute();
    await abandoned('stale', '11 minutes');
    await abandoned('running', '1 minute');
    const keys = createIdempotencyService(t.database.db, { ttlMs: 24 * 3_600_000 });
    expect(await keys.claim({ caller: 'user:crashed', key: 'stale', request })).toEqual({
      state: 'claimed',
    });
    await expect(keys.claim({ caller: 'user:crashed', key: 'running', request })).rejects.toThrow(
      IdempotencyInFlightError,
    );
  });
});
