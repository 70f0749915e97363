import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, TEST_ADMIN } from '../test-support/actors';
import {
  type FakeOpenAiServer,
  sendEvent,
  startEventStream,
  startFakeOpenAiServer,
} from '../test-support/fake-openai-server';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

const CHAT_LIMIT = 3;
let fake: FakeOpenAiServer;
let mode: 'ok' | 'break' = 'ok';
let t: TestApp;
let api: RestCall;
let admin: Actor;
let personaId: string;

beforeAll(async () => {
  fake = await startFakeOpenAiServer(async (_req, res) => {
    startEventStream(res);
    await sendEvent(res, { choices: [{ index: 0, delta: { content: 'Half ' } }] });
    if (mode === 'break') {
      res.destroy();
      return;
    }
    await sendEvent(res, { choices: [{ index: 0, delta: { content: 'answer.' } }] });
    await sendEvent(res, '[DONE]');
    res.end();
  });
  t = await startTestApp({
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    LLM_PROVIDER: 'huggingface',
    HF_ENDPOINT_URL: fake.url,
    HF_TOKEN: 'test-token',
    CHAT_RATE_LIMIT_PER_MINUTE: String(CHAT_LIMIT),
  });
  api = restClient(t.app.http);
  admin = await adminActor(t);
  const p = await api<{ persona_id: string }>('POST', '/personas/build', {
    token: admin.token,
    body: { persona_name: 'Streamer' },
  });
  personaId = p.body.persona_id;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
  await fake?.close();
});

function stream(persona: string, body: unknown, token?: string) {
  return t.app.http.inject({
    method: 'POST',
    url: `/api/personas/${persona}/chat/stream`,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    payload: JSON.stringify(body),
  });
}

/** The stream route and the JSON chat route refuse a request with the same status and body. */
async function expectSameRefusal(persona: string, body: unknown, token?: string) {
  const json = await api('POST', `/personas/${persona}/chat`, { token, body });
  const streamed = await stream(persona, body, token);
  expect(json.status).toBeGreaterThanOrEqual(400);
  expect(streamed.statusCode).toBe(json.status);
  expect(streamed.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(streamed.json()).toEqual(json.body);
  return streamed;
}

describe('the chat stream route runs the chat.stream procedure', () => {
  it('refuses exactly as the JSON chat route does before the first event', async () => {
    await expectSameRefusal(personaId, { content: 'hi' });
    await expectSameRefusal(personaId, { content: 'a\u0000b' }, admin.token);
    const typed = await expectSameRefusal(personaId, { content: 5 }, admin.token);
    expect(typed.json()).toMatchObject({ code: 'BAD_REQUEST', issues: [{ path: 'content' }] });
    const long = { content: 'hi', message_history_id: 'h'.repeat(101) };
    const tooLong = await expectSameRefusal(personaId, long, admin.token);
    expect(tooLong.json()).toMatchObject({ issues: [{ path: 'message_history_id' }] });
    await expectSameRefusal(personaId, { content: ' ' }, admin.token);
    const missing = await expectSameRefusal(
      '00000000-0000-4000-8000-000000000000',
      { content: 'hi' },
      admin.token,
    );
    expect(missing.json()).toMatchObject({ detail: 'Persona not found', code: 'NOT_FOUND' });
  });

  it('sends a failure after the first event as an error event', async () => {
    mode = 'break';
    const res = await stream(personaId, { content: 'hi' }, admin.token);
    mode = 'ok';
    expect(res.statusCode).toBe(200);
    const frames = res.body.split('\n\n').filter((frame) => frame.trim());
    expect(frames[0]).toMatch(/^event: meta\n/);
    const last = frames.at(-1) ?? '';
    expect(last).toMatch(/^event: error\n/);
    const body = JSON.parse(/^data: (.*)$/m.exec(last)?.[1] ?? 'null');
    expect(body).toMatchObject({ detail: expect.any(String), code: 'BAD_GATEWAY' });
  });

  it('answers 429 with Retry-After once the chat limit is spent', async () => {
    let last = await stream(personaId, { content: 'hi' }, admin.token);
    for (let i = 0; i < CHAT_LIMIT + 1 && last.statusCode !== 429; i++) {
      last = await stream(personaId, { content: 'hi' }, admin.token);
    }
    expect(last.statusCode).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect(last.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
  });
});
