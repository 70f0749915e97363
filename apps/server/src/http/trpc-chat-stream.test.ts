import type { AddressInfo } from 'node:net';
import type { AppRouter, ChatStreamEvent, MessageHistory, RouterInputs } from '@personas/contracts';
import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  TRPCClientError,
} from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, TEST_ADMIN_ENV } from '../test-support/actors';
import {
  chatDelta,
  type FakeOpenAiServer,
  sendEvent,
  startEventStream,
  startFakeOpenAiServer,
} from '../test-support/fake-openai-server';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

/**
 * `chat.stream` as a tRPC client calls it: a streaming mutation, over a real socket, through
 * `@trpc/client`'s own links. The message goes in a POST body, never in a URL.
 */
const CONTENT = 'Which harbour lights are lit at dusk?';

let fake: FakeOpenAiServer;
/** How the fake model answers: whole, or cut off after its first piece. */
let mode: 'whole' | 'break' = 'whole';
let t: TestApp;
let api: RestCall;
let admin: Actor;
let baseUrl: string;
let personaId: string;

/** Every request the tRPC clients below sent: the method, the URL and the body on the wire. */
const sent: { method: string; url: string; body: string }[] = [];

const recordingFetch: typeof fetch = (input, init) => {
  sent.push({
    method: init?.method ?? 'GET',
    url: String(input),
    body: typeof init?.body === 'string' ? init.body : '',
  });
  return fetch(input, init);
};

type Link = typeof httpBatchStreamLink | typeof httpBatchLink;

function clientWith(link: Link, token = admin.token) {
  return createTRPCClient<AppRouter>({
    links: [
      link({
        url: `${baseUrl}/trpc`,
        fetch: recordingFetch,
        headers: { authorization: `Bearer ${token}` },
      }),
    ],
  });
}

/** The events a streamed chat yielded before it ended, and what it failed with, if it did. */
async function streamChat(input: RouterInputs['chat']['stream'], link: Link = httpBatchStreamLink) {
  const events: ChatStreamEvent[] = [];
  try {
    for await (const event of await clientWith(link).chat.stream.mutate(input)) events.push(event);
    return { events, error: null };
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    return { events, error: error as TRPCClientError<AppRouter> };
  }
}

beforeAll(async () => {
  fake = await startFakeOpenAiServer(async (_req, res) => {
    startEventStream(res);
    await sendEvent(res, chatDelta('Green '));
    if (mode === 'break') {
      res.destroy();
      return;
    }
    await sendEvent(res, chatDelta('and red.'));
    await sendEvent(res, '[DONE]');
    res.end();
  });
  t = await startTestApp({
    ...TEST_ADMIN_ENV,
    LLM_PROVIDER: 'huggingface',
    HF_ENDPOINT_URL: fake.url,
    HF_TOKEN: 'test-token',
    CHAT_RATE_LIMIT_PER_MINUTE: '100',
  });
  api = restClient(t.app.http);
  admin = await adminActor(t);
  const built = await api<{ persona_id: string }>('POST', '/personas/build', {
    token: admin.token,
    body: { persona_name: 'Harbour master' },
  });
  personaId = built.body.persona_id;
  await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
  await fake?.close();
});

describe('chat.stream over tRPC', () => {
  it('streams meta, tokens and done to httpBatchStreamLink, the message in a POST body', async () => {
    const { events, error } = await streamChat({ persona_id: personaId, content: CONTENT });
    expect(error).toBeNull();
    expect(events.map((event) => event.type)).toEqual(['meta', 'token', 'token', 'done']);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', response: 'Green and red.' });

    const request = sent.at(-1);
    expect(request?.method).toBe('POST');
    expect(request?.body).toContain(CONTENT);
    expect(decodeURIComponent(request?.url ?? '')).not.toContain(CONTENT);

    // The exchange was stored, as the SSE route stores it.
    const meta = events[0] as Extract<ChatStreamEvent, { type: 'meta' }>;
    const history = await api<MessageHistory>(
      'GET',
      `/message_histories/${meta.message_history_id}`,
      {
        token: admin.token,
      },
    );
    expect(history.body.messages.map((m) => m.content)).toEqual([CONTENT, 'Green and red.']);
  });

  it('refuses before the first event with the status the other routes use', async () => {
    const missing = await streamChat({
      persona_id: '00000000-0000-4000-8000-000000000000',
      content: CONTENT,
    });
    expect(missing.events).toEqual([]);
    expect(missing.error?.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    expect(missing.error?.message).toBe('Persona not found');

    const blank = await streamChat({ persona_id: personaId, content: ' ' });
    expect(blank.events).toEqual([]);
    expect(blank.error?.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
  });

  it('reports a failure after the first event as the domain error it is, not a 500', async () => {
    mode = 'break';
    const broken = await streamChat({ persona_id: personaId, content: CONTENT }).finally(() => {
      mode = 'whole';
    });
    expect(broken.events[0]?.type).toBe('meta');
    expect(broken.events.some((event) => event.type === 'done')).toBe(false);
    expect(broken.error?.data).toMatchObject({ code: 'BAD_GATEWAY', httpStatus: 502 });
  });

  it('answers the non-streaming batch link with 415 and never starts the model', async () => {
    const asked = fake.requests.length;
    const batched = await streamChat({ persona_id: personaId, content: CONTENT }, httpBatchLink);
    expect(batched.error?.data).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(fake.requests.length).toBe(asked);
  });
});

describe('chat.stream over GET, its input in the URL', () => {
  const inputOf = (value: unknown) => encodeURIComponent(JSON.stringify(value));

  it('is a 405 that names POST, and runs nothing', async () => {
    const asked = fake.requests.length;
    const input = inputOf({ persona_id: personaId, content: CONTENT });
    const res = await fetch(`${baseUrl}/trpc/chat.stream?input=${input}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('METHOD_NOT_SUPPORTED');
    expect(fake.requests.length).toBe(asked);
  });

  it('streams no event when asked for a stream either (tRPC streams start 200)', async () => {
    const asked = fake.requests.length;
    const input = inputOf({ 0: { persona_id: personaId, content: CONTENT } });
    const res = await fetch(`${baseUrl}/trpc/chat.stream?batch=1&input=${input}`, {
      headers: { authorization: `Bearer ${admin.token}`, 'trpc-accept': 'application/jsonl' },
    });
    const text = await res.text();
    expect(text).toContain('METHOD_NOT_SUPPORTED');
    expect(text).not.toContain('"type":"meta"');
    expect(fake.requests.length).toBe(asked);
  });
});
