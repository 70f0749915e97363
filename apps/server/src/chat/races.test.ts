import { type AuthUser, NotFoundError } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';
import type { LanguageModel } from './llm/language-model';
import { createChatService } from './service';

/**
 * Deletions that land while a chat is waiting for its model: the chat service is built here
 * with a model that answers only when the test says so, on the test app's database.
 */
let t: TestApp;
let api: RestCall;
let builder: Actor;
let alice: Actor;

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  api = restClient(t.app.http);
  const admin = await adminActor(t);
  builder = await createActor(t, admin.token, 'builder');
  alice = await createActor(t, admin.token, 'user', 'alice');
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

/** A model whose every answer waits for `release()`; `started` resolves when it is asked. */
function gatedModel() {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const asked = new Promise<void>((resolve) => {
    started = resolve;
  });
  const llm: LanguageModel = {
    provider: 'gated',
    async complete() {
      started();
      await gate;
      return {
        text: 'a late answer',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      };
    },
    async *stream() {
      started();
      await gate;
      yield {
        type: 'done',
        text: 'a late answer',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      };
    },
  } as LanguageModel;
  return { llm, release, asked };
}

function chatService(llm: LanguageModel) {
  return createChatService(t.database.db, {
    findVisiblePersona: async (_actor, id) => ({
      id,
      system_prompt: 'You help.',
      model: 'offline',
      temperature: 0.5,
      top_k: 3,
      query_metric: 'cosine',
      query_threshold: 0.5,
      rag_mode: 'vector',
      rag_filter: {},
      readableCollections: [],
    }),
    llm,
    retrieve: async () => [],
    embeddingModel: 'offline',
    historyBudgetTokens: 3000,
    takeRateLimit: async () => {},
    quota: { check: async () => {}, now: () => new Date() },
  });
}

const actorOf = (a: Actor): AuthUser => ({
  id: a.id,
  email: a.email,
  role: a.role,
  credential: { kind: 'session', sessionId: 'test' },
  scopes: null,
  personaIds: null,
});

async function newPersona(name: string) {
  const res = await api<{ persona_id: string }>('POST', '/personas/build', {
    token: builder.token,
    body: { persona_name: name, visibility: 'public' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.persona_id;
}

describe('deleting while a chat is in flight', () => {
  it('keeps a deleted history gone for good: the chat into it answers 404', async () => {
    const personaId = await newPersona('Races history');
    const first = await api<{ message_history_id: string }>('POST', `/personas/${personaId}/chat`, {
      token: alice.token,
      body: { content: 'the first message' },
    });
    expect(first.status).toBe(200);
    const historyId = first.body.message_history_id;

    const { llm, release, asked } = gatedModel();
    const inFlight = chatService(llm).send(actorOf(alice), {
      persona_id: personaId,
      message_history_id: historyId,
      content: 'a second message',
    });
    inFlight.catch(() => {});
    await asked;
    const deleted = await api('DELETE', `/message_histories/${historyId}`, { token: alice.token });
    expect(deleted.status).toBe(200);
    release();
    await expect(inFlight).rejects.toBeInstanceOf(NotFoundError);
    const after = await api('GET', `/message_histories/${historyId}`, { token: alice.token });
    expect(after.status).toBe(404);
  });

  it('answers 404, not a foreign-key 500, when the persona goes while its first reply is written', async () => {
    const personaId = await newPersona('Races persona');
    const { llm, release, asked } = gatedModel();
    const inFlight = chatService(llm).send(actorOf(alice), {
      persona_id: personaId,
      content: 'hello there',
    });
    inFlight.catch(() => {});
    await asked;
    const deleted = await api('DELETE', `/personas/build/${personaId}`, { token: builder.token });
    expect(deleted.status).toBe(200);
    release();
    await expect(inFlight).rejects.toBeInstanceOf(NotFoundError);
    const left = await t.database.db
      .selectFrom('message_histories')
      .select('id')
      .where('persona_id', '=', personaId)
      .execute();
    expect(left).toEqual([]);
  });
});
