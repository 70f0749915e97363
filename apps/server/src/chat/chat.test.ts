import type { ChatResponse, MessageHistory, RagHit, Services } from '@personas/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import {
  type FakeOpenAiServer,
  sendChatCompletion,
  sendJson,
  startFakeOpenAiServer,
  streamChatCompletion,
} from '../test-support/fake-openai-server';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';
import { LanguageModelTimeoutError } from './llm/language-model-errors';

const DOCUMENT =
  '# Marketing playbook\n\nOur marketing strategies focus on analyzing target demographics, refining brand messaging, and suggesting campaign strategies for each quarter.';
const SEED_QUESTION = 'How can you help me with marketing strategies?';

let t: TestApp;
let api: RestCall;
let admin: Actor;
let builder: Actor;
let alice: Actor;
let bob: Actor;
let personaId: string;
let emptyPersonaId: string;

async function createPersona(token: string, body: Record<string, unknown>) {
  const res = await api<{ persona_id: string }>('POST', '/personas/build', { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.persona_id;
}

async function chat(persona: string, body: unknown, token = alice.token) {
  return api<ChatResponse>('POST', `/personas/${persona}/chat`, { token, body });
}

async function messageCount() {
  const row = await t.database.db
    .selectFrom('messages')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

/**
 * Resolves once the next stream `chat` starts has ended, with what it threw (undefined when it
 * returned): the moment after which that exchange can store nothing more.
 */
function nextStreamEnd(chat: Services['chat']): Promise<unknown> {
  const stream = chat.stream.bind(chat);
  return new Promise((resolve) => {
    vi.spyOn(chat, 'stream').mockImplementationOnce(async function* (...args) {
      let thrown: unknown;
      try {
        yield* stream(...args);
      } catch (error) {
        thrown = error;
        throw error;
      } finally {
        resolve(thrown);
      }
    });
  });
}

/** Parses a server-sent-events body into its events. */
function parseSse(body: string) {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim())
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null') as Record<
        string,
        unknown
      >;
      return { event, data };
    });
}

async function setupWorld(app: TestApp) {
  const a = restClient(app.app.http);
  const adm = await adminActor(app);
  const b = await createActor(app, adm.token, 'builder');
  await a('POST', '/collections', {
    token: b.token,
    body: { name: 'playbook', visibility: 'shared' },
  });
  const doc = await a('POST', '/collections/playbook/documents', {
    token: b.token,
    body: { file_name: 'important document', doc_path: 'path/to/document.md', content: DOCUMENT },
  });
  expect(doc.status).toBe(200);
  return { adm, b };
}

beforeAll(async () => {
  t = await startTestApp({ ...TEST_ADMIN_ENV, CHAT_RATE_LIMIT_PER_MINUTE: '100' });
  api = restClient(t.app.http);
  ({ adm: admin, b: builder } = await setupWorld(t));
  alice = await createActor(t, admin.token, 'user', 'alice');
  bob = await createActor(t, admin.token, 'user', 'bob');
  personaId = await createPersona(builder.token, {
    persona_name: 'Marketing Persona',
    system_prompt: 'You are a marketing expert.',
    rag: { db_collections: ['playbook'] },
  });
  emptyPersonaId = await createPersona(builder.token, { persona_name: 'No knowledge' });
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe("the seed's chat example", () => {
  it('answers with the documented shape and a typed, successful rag_hit; the history shows both messages', async () => {
    const first = await chat(personaId, { content: SEED_QUESTION });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      persona_id: personaId,
      message_history_id: expect.any(String),
      response: expect.stringContaining('[offline model]'),
      rag_hit: {
        document_id: expect.any(String),
        file_name: 'important document',
        doc_path: 'path/to/document.md',
        page: null,
        attributes: {},
        document_string: expect.stringContaining('marketing strategies'),
        euclidean_distance: expect.any(Number),
        cosine_similarity: expect.any(Number),
        success: true,
      },
      rag_hits: [expect.objectContaining({ success: true, file_name: 'important document' })],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });

    // The seed's body, its placeholder history id replaced by the real one.
    const seedBody = { message_history_id: first.body.message_history_id, content: SEED_QUESTION };
    const second = await chat(personaId, seedBody);
    expect(second.status).toBe(200);
    expect(second.body.message_history_id).toBe(first.body.message_history_id);

    const history = await api<{ persona_id: string; messages: MessageHistory[] }>(
      'GET',
      `/personas/${personaId}/message_history`,
      { token: alice.token },
    );
    expect(history.status).toBe(200);
    expect(history.body.persona_id).toBe(personaId);
    expect(history.body.messages).toHaveLength(1);
    const [conversation] = history.body.messages;
    expect(conversation).toEqual({
      id: first.body.message_history_id,
      persona_id: personaId,
      title: 'How can you help me with marketing strategies?',
      description: '',
      messages: [
        {
          id: expect.any(String),
          role: 'user',
          content: SEED_QUESTION,
          created_at: expect.any(String),
        },
        {
          id: expect.any(String),
          role: 'assistant',
          content: first.body.response,
          created_at: expect.any(String),
          rag_hit: first.body.rag_hit,
        },
        expect.objectContaining({ role: 'user' }),
        expect.objectContaining({ role: 'assistant', content: second.body.response }),
      ],
      messages_next_cursor: null,
      created_at: expect.any(String),
    });
  });

  it("answers the seed's placeholder history id with 404 Message history not found", async () => {
    const res = await chat(personaId, { message_history_id: '12345', content: SEED_QUESTION });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ detail: 'Message history not found', code: 'NOT_FOUND' });
  });
});

describe('chat rules', () => {
  it.each([{ content: '' }, { content: '   \n\t ' }])(
    'answers empty content %j with 400 and the seed detail, storing nothing',
    async (body) => {
      const before = await messageCount();
      const res = await chat(personaId, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        detail: 'Message content is required',
        code: 'BAD_REQUEST',
      });
      expect(await messageCount()).toBe(before);
    },
  );

  it('answers missing content with 400 naming the field in the seed words, storing nothing', async () => {
    const before = await messageCount();
    const res = await chat(personaId, {});
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      detail: 'Invalid input: content: Message content is required',
      code: 'BAD_REQUEST',
      issues: [{ path: 'content', message: 'Message content is required', code: 'invalid_type' }],
    });
    expect(await messageCount()).toBe(before);
  });

  it("keeps other users' histories and other personas' histories out of reach (404)", async () => {
    const mine = await chat(personaId, { content: 'marketing strategies for spring?' });
    const historyId = mine.body.message_history_id;
    const before = await messageCount();
    const asBob = await chat(
      personaId,
      { message_history_id: historyId, content: 'hijack' },
      bob.token,
    );
    expect(asBob.status).toBe(404);
    expect(asBob.body).toMatchObject({ detail: 'Message history not found', code: 'NOT_FOUND' });
    const otherPersona = await chat(emptyPersonaId, {
      message_history_id: historyId,
      content: 'cross',
    });
    expect(otherPersona.status).toBe(404);
    expect(await messageCount()).toBe(before);
    expect((await api('GET', `/message_histories/${historyId}`, { token: bob.token })).status).toBe(
      404,
    );
    expect(
      (await api('DELETE', `/message_histories/${historyId}`, { token: bob.token })).status,
    ).toBe(404);
    expect(
      (
        await api('PATCH', `/message_histories/${historyId}`, {
          token: bob.token,
          body: { title: 'x' },
        })
      ).status,
    ).toBe(404);
  });

  it('answers rag_hit null for a persona without collections', async () => {
    const res = await chat(emptyPersonaId, { content: SEED_QUESTION });
    expect(res.status).toBe(200);
    expect(res.body.rag_hit).toBeNull();
    expect(res.body.rag_hits).toEqual([]);
  });

  it('reports the best candidate with success false when nobody passes the threshold', async () => {
    const strict = await createPersona(builder.token, {
      persona_name: 'Strict',
      rag: { db_collections: ['playbook'], query_threshold: 0.99 },
    });
    const res = await chat(strict, { content: SEED_QUESTION });
    expect(res.status).toBe(200);
    expect(res.body.rag_hit).toMatchObject({ success: false, file_name: 'important document' });
    expect((res.body.rag_hit as RagHit).cosine_similarity).toBeLessThan(0.99);
    expect(res.body.rag_hits).toEqual([]);
  });

  it('hides private personas from other users (404) and checks the persona id', async () => {
    const secret = await createPersona(builder.token, {
      persona_name: 'Secret',
      visibility: 'private',
    });
    expect((await chat(secret, { content: 'hi' })).status).toBe(404);
    expect((await chat('67890', { content: 'hi' })).status).toBe(404);
    expect(
      (await api('GET', `/personas/${secret}/message_history`, { token: alice.token })).status,
    ).toBe(404);
    expect((await chat(secret, { content: 'hi' }, builder.token)).status).toBe(200);
  });

  it('keeps all of 20 concurrent chats into one history, in a consistent order', async () => {
    const start = await chat(personaId, { content: 'start of a busy conversation' });
    const historyId = start.body.message_history_id;
    const questions = Array.from({ length: 20 }, (_, i) => `concurrent question number ${i}`);
    const answers = await Promise.all(
      questions.map((content) => chat(personaId, { message_history_id: historyId, content })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const history = await api<MessageHistory>('GET', `/message_histories/${historyId}`, {
      token: alice.token,
    });
    const messages = history.body.messages.slice(2);
    expect(messages).toHaveLength(40);
    // Each exchange is a user message immediately followed by its own reply.
    for (let i = 0; i < messages.length; i += 2) {
      expect(messages[i]?.role).toBe('user');
      expect(messages[i + 1]?.role).toBe('assistant');
      const answer = answers.find((a) => a.body.response === messages[i + 1]?.content);
      expect(answer, `reply to ${messages[i]?.content}`).toBeDefined();
    }
    expect(new Set(messages.filter((m) => m.role === 'user').map((m) => m.content))).toEqual(
      new Set(questions),
    );
    // Timestamps follow the order: never earlier than the message before, each answer strictly
    // after its question (the transaction's `now()` stamped both alike, and out of order).
    const times = history.body.messages.map((m) => Date.parse(m.created_at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    const stamps = await t.database.db
      .selectFrom('messages')
      .select(['role', sql<string>`to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US')`.as('at')])
      .where('history_id', '=', historyId)
      .orderBy('seq')
      .execute();
    for (let i = 0; i < stamps.length; i += 2) {
      expect(stamps[i + 1]!.at > stamps[i]!.at, `answer after question ${i}`).toBe(true);
    }
  });

  it('renames, reads and deletes a history', async () => {
    const res = await chat(personaId, { content: 'a conversation to manage' });
    const id = res.body.message_history_id;
    const renamed = await api<MessageHistory>('PATCH', `/message_histories/${id}`, {
      token: alice.token,
      body: { title: 'Managed', description: 'kept tidy' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, title: 'Managed', description: 'kept tidy' });
    expect(renamed.body.messages).toHaveLength(2);
    expect((await api('DELETE', `/message_histories/${id}`, { token: alice.token })).body).toEqual({
      message: 'Message history deleted successfully',
    });
    expect((await api('GET', `/message_histories/${id}`, { token: alice.token })).status).toBe(404);
  });
});

describe('streaming', () => {
  it('sends meta, tokens and done over SSE, and stores the exchange', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: `/api/personas/${personaId}/chat/stream`,
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: SEED_QUESTION }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(res.body);
    expect(events[0]?.event).toBe('meta');
    expect(events[0]?.data).toMatchObject({ persona_id: personaId, rag_hit: { success: true } });
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text as string);
    expect(tokens.length).toBeGreaterThan(1);
    const done = events.at(-1);
    expect(done?.event).toBe('done');
    expect(done?.data.response).toBe(tokens.join(''));
    const historyId = events[0]?.data.message_history_id as string;
    const history = await api<MessageHistory>('GET', `/message_histories/${historyId}`, {
      token: alice.token,
    });
    expect(history.body.messages.map((m) => m.content)).toEqual([
      SEED_QUESTION,
      done?.data.response,
    ]);
  });

  it('answers stream errors before the first event as JSON with their status', async () => {
    const empty = await t.app.http.inject({
      method: 'POST',
      url: `/api/personas/${personaId}/chat/stream`,
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: ' ' }),
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({
      detail: 'Message content is required',
      code: 'BAD_REQUEST',
    });
    const anonymous = await t.app.http.inject({
      method: 'POST',
      url: `/api/personas/${personaId}/chat/stream`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'hi' }),
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('serves the same stream as a tRPC streaming mutation, its input in the POST body', async () => {
    const input = { persona_id: personaId, content: SEED_QUESTION };
    const res = await t.app.http.inject({
      method: 'POST',
      url: '/trpc/chat.stream?batch=1',
      headers: {
        authorization: `Bearer ${alice.token}`,
        'content-type': 'application/json',
        'trpc-accept': 'application/jsonl',
      },
      payload: JSON.stringify({ 0: input }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('"type":"meta"');
    expect(res.body).toContain('"type":"done"');
    // Never over GET, where the message would be in the URL.
    const get = await t.app.http.inject({
      method: 'GET',
      url: `/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify(input))}`,
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(get.statusCode).toBe(405);
  });
});

describe('rate limit', () => {
  it('refuses chats past the per-user limit with 429 and Retry-After', async () => {
    await using limited = await startTestApp({
      ...TEST_ADMIN_ENV,
      CHAT_RATE_LIMIT_PER_MINUTE: '2',
    });
    const a = restClient(limited.app.http);
    const adm = await adminActor(limited);
    const p = await a<{ persona_id: string }>('POST', '/personas/build', {
      token: adm.token,
      body: { persona_name: 'Limited' },
    });
    const send = () =>
      a('POST', `/personas/${p.body.persona_id}/chat`, {
        token: adm.token,
        body: { content: 'hi' },
      });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const third = await send();
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('the huggingface provider through the chat route', () => {
  let fake: FakeOpenAiServer;
  let hf: TestApp;
  let hfApi: RestCall;
  let hfBuilder: Actor;
  let hfPersona: string;
  let mode: 'ok' | 'fail' | 'hang' | 'stall' = 'ok';

  beforeAll(async () => {
    fake = await startFakeOpenAiServer(async (req, res) => {
      if (mode === 'fail') return sendJson(res, 500, { error: 'model exploded' });
      if (mode === 'hang') return;
      if (req.body.stream && mode === 'stall') {
        // A model that stops after its first token until the server hangs up on it: the answer
        // cannot complete before the client walks away, however slow the machine is.
        await streamChatCompletion(res, ['Grounded '], { leaveOpen: true });
        return req.closed;
      }
      if (req.body.stream) return streamChatCompletion(res, ['Grounded ', 'streamed ', 'answer.']);
      sendChatCompletion(res, 'Grounded answer.', { prompt_tokens: 42, completion_tokens: 3 });
    });
    hf = await startTestApp({
      ...TEST_ADMIN_ENV,
      LLM_PROVIDER: 'huggingface',
      HF_ENDPOINT_URL: fake.url,
      HF_TOKEN: 'test-token',
      MODEL_TIMEOUT_MS: '500',
      CHAT_HISTORY_BUDGET_TOKENS: '256',
    });
    hfApi = restClient(hf.app.http);
    ({ b: hfBuilder } = await setupWorld(hf));
    const p = await hfApi<{ persona_id: string }>('POST', '/personas/build', {
      token: hfBuilder.token,
      body: {
        persona_name: 'Hosted',
        system_prompt: 'You are the hosted marketing persona.',
        model: 'meta-llama/Llama-3.1-8B-Instruct',
        temperature: 0.2,
        rag: { db_collections: ['playbook'] },
      },
    });
    hfPersona = p.body.persona_id;
  });
  afterAll(async () => {
    await hf?.[Symbol.asyncDispose]();
    await fake?.close();
  });

  const hfMessages = async () =>
    (
      await hf.database.db
        .selectFrom('messages')
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow()
    ).n;

  it('sends the persona model, temperature, system prompt and retrieved passages', async () => {
    mode = 'ok';
    const res = await hfApi<ChatResponse>('POST', `/personas/${hfPersona}/chat`, {
      token: hfBuilder.token,
      body: { content: SEED_QUESTION },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      response: 'Grounded answer.',
      usage: { prompt_tokens: 42, completion_tokens: 3 },
    });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer test-token');
    expect(sent.body).toMatchObject({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      temperature: 0.2,
    });
    const messages = sent.body.messages as { role: string; content: string }[];
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('You are the hosted marketing persona.');
    expect(messages[0]?.content).toContain('analyzing target demographics');
    expect(messages[0]?.content).toContain('important document');
    expect(messages.at(-1)).toEqual({ role: 'user', content: SEED_QUESTION });
  });

  it('drops the oldest turns first to fit the history budget, never the system prompt', async () => {
    mode = 'ok';
    const first = await hfApi<ChatResponse>('POST', `/personas/${hfPersona}/chat`, {
      token: hfBuilder.token,
      body: { content: `oldest turn ${'lorem ipsum '.repeat(40)}` },
    });
    const historyId = first.body.message_history_id;
    for (const label of ['middle', 'newest']) {
      await hfApi('POST', `/personas/${hfPersona}/chat`, {
        token: hfBuilder.token,
        body: {
          message_history_id: historyId,
          content: `${label} turn ${'dolor sit '.repeat(20)}`,
        },
      });
    }
    await hfApi('POST', `/personas/${hfPersona}/chat`, {
      token: hfBuilder.token,
      body: { message_history_id: historyId, content: 'final question' },
    });
    const messages = fake.requests.at(-1)!.body.messages as { role: string; content: string }[];
    expect(messages[0]?.content).toContain('You are the hosted marketing persona.');
    const text = messages.map((m) => m.content).join('\n');
    expect(text).not.toContain('oldest turn');
    expect(text).toContain('newest turn');
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'final question' });
  });

  it('answers 502 when the model fails and 504 when it times out, storing nothing', async () => {
    const before = await hfMessages();
    mode = 'fail';
    const failed = await hfApi('POST', `/personas/${hfPersona}/chat`, {
      token: hfBuilder.token,
      body: { content: SEED_QUESTION },
    });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({
      code: 'BAD_GATEWAY',
      detail: expect.stringMatching(/language model/i),
    });
    mode = 'hang';
    const slow = await hfApi('POST', `/personas/${hfPersona}/chat`, {
      token: hfBuilder.token,
      body: { content: SEED_QUESTION },
    });
    expect(slow.status).toBe(504);
    expect(slow.body).toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(await hfMessages()).toBe(before);
  });

  it('streams from the provider, and a client that disconnects mid-stream leaves nothing stored', async () => {
    mode = 'ok';
    const url = await hf.app.http.listen({ host: '127.0.0.1', port: 0 });
    const headers = {
      authorization: `Bearer ${hfBuilder.token}`,
      'content-type': 'application/json',
    };
    const whole = await fetch(`${url}/api/personas/${hfPersona}/chat/stream`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: SEED_QUESTION }),
    });
    const events = parseSse(await whole.text());
    expect(events.filter((e) => e.event === 'token').map((e) => e.data.text)).toEqual([
      'Grounded ',
      'streamed ',
      'answer.',
    ]);
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { response: 'Grounded streamed answer.' },
    });
    expect(fake.requests.at(-1)?.body.stream).toBe(true);

    mode = 'stall';
    const before = await hfMessages();
    const streamEnd = nextStreamEnd(hf.app.services.chat);
    const abort = new AbortController();
    const partial = await fetch(`${url}/api/personas/${hfPersona}/chat/stream`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: 'a question I will walk away from' }),
      signal: abort.signal,
    });
    const reader = partial.body!.getReader();
    let seen = '';
    while (!seen.includes('event: token')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    abort.abort();
    // The server hangs up on the model, and the chat service's stream ends: after that nothing
    // of this exchange can be stored any more.
    const bound = { timeout: 15_000 };
    await vi.waitFor(() => fake.requests.at(-1)!.closed, bound);
    const ended = await vi.waitFor(() => streamEnd, bound);
    expect(ended).not.toBeInstanceOf(LanguageModelTimeoutError);
    expect(await hfMessages()).toBe(before);
  });
});
