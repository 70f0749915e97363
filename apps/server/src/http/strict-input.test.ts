import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, TEST_ADMIN } from '../test-support/actors';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

/**
 * Strict input on both transports: an unknown field is a 400 naming it, and a number field takes
 * a JSON number only — also after a REST call, whose adapter sets `coerce` on the number fields
 * of the shared schemas it finds (see contracts' json-number.ts).
 */
let t: TestApp;
let api: RestCall;
let admin: Actor;
let personaId: string;

interface Refusal {
  status: number;
  detail: string;
  issues: { path: string; message: string; code: string }[];
}
type Transport = 'rest' | 'trpc';
type Call = (body: Record<string, unknown>) => Promise<Refusal & { body: unknown }>;

/** A mutation over tRPC, its error reduced to what REST says: status, detail, issues. */
async function trpc(path: string, input: unknown) {
  const res = await t.app.http.inject({
    method: 'POST',
    url: `/trpc/${path}`,
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(input),
  });
  const body = res.json() as {
    result?: { data: unknown };
    error?: { message: string; data: { issues: Refusal['issues'] } };
  };
  return {
    status: res.statusCode,
    detail: body.error?.message ?? '',
    issues: body.error?.data.issues ?? [],
    body: body.result?.data,
  };
}

async function rest(method: 'POST' | 'PUT', url: string, body: unknown) {
  const res = await api<{ detail?: string; issues?: Refusal['issues'] }>(method, url, {
    token: admin.token,
    body,
  });
  return {
    status: res.status,
    detail: res.body.detail ?? '',
    issues: res.body.issues ?? [],
    body: res.body,
  };
}

const build: Record<Transport, Call> = {
  rest: (body) => rest('POST', '/personas/build', body),
  trpc: (body) => trpc('personas.build', body),
};
const update: Record<Transport, Call> = {
  rest: (body) => rest('PUT', `/personas/build/${personaId}`, body),
  trpc: (body) => trpc('personas.update', { ...body, persona_id: personaId }),
};
const chat: Record<Transport, Call> = {
  rest: (body) => rest('POST', `/personas/${personaId}/chat`, body),
  trpc: (body) => trpc('chat.send', { ...body, persona_id: personaId }),
};

async function personaCount() {
  const rows = await t.database.db.selectFrom('personas').select('id').execute();
  return rows.length;
}

async function storedTemperature() {
  const row = await t.database.db
    .selectFrom('personas')
    .select('temperature')
    .where('id', '=', personaId)
    .executeTakeFirstOrThrow();
  return row.temperature;
}

beforeAll(async () => {
  t = await startTestApp({ ADMIN_EMAIL: TEST_ADMIN.email, ADMIN_PASSWORD: TEST_ADMIN.password });
  api = restClient(t.app.http);
  admin = await adminActor(t);
  // A REST call first: from here on the adapter has had its go at the shared schemas.
  const created = await rest('POST', '/personas/build', {
    persona_name: 'Strict',
    temperature: 0.5,
  });
  expect(created.status).toBe(200);
  personaId = (created.body as { persona_id: string }).persona_id;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe.each(['rest', 'trpc'] as const)('strict input over %s', (transport) => {
  it('refuses an unknown field with a 400 naming it, storing nothing', async () => {
    const before = await personaCount();
    const res = await build[transport]({ persona_name: 'Typo', temprature: 1.5 });
    expect(res.status).toBe(400);
    expect(res.detail).toBe('Invalid input: Unrecognized key: "temprature"');
    expect(res.issues).toEqual([
      { path: '', message: 'Unrecognized key: "temprature"', code: 'unrecognized_keys' },
    ]);
    expect(await personaCount()).toBe(before);
  });

  it('refuses an unknown field inside rag, and on update', async () => {
    const nested = await build[transport]({ persona_name: 'Typo', rag: { topk: 3 } });
    expect(nested.status).toBe(400);
    expect(nested.detail).toBe('Invalid input: rag: Unrecognized key: "topk"');
    const onUpdate = await update[transport]({ temprature: 1.5 });
    expect(onUpdate.status).toBe(400);
    expect(onUpdate.detail).toMatch(/"temprature"/);
  });

  it.each([null, true, '0.5', [0.5]])(
    'refuses temperature %j after a REST call, storing nothing',
    async (temperature) => {
      const before = await personaCount();
      const created = await build[transport]({ persona_name: 'Coerced', temperature });
      expect(created.status).toBe(400);
      expect(created.issues).toEqual([expect.objectContaining({ path: 'temperature' })]);
      expect(await personaCount()).toBe(before);
      const updated = await update[transport]({ temperature });
      expect(updated.status).toBe(400);
      expect(await storedTemperature()).toBeCloseTo(0.5);
    },
  );

  it('refuses numbers as text inside rag and in other bodies', async () => {
    const topK = await update[transport]({ rag: { top_k: '3' } });
    expect(topK.issues).toEqual([expect.objectContaining({ path: 'rag.top_k' })]);
    const threshold = await update[transport]({ rag: { query_threshold: false } });
    expect(threshold.issues).toEqual([expect.objectContaining({ path: 'rag.query_threshold' })]);
    const key =
      transport === 'rest'
        ? await rest('POST', '/auth/api-keys', { name: 'k', expires_in_days: '30' })
        : await trpc('auth.createApiKey', { name: 'k', expires_in_days: '30' });
    expect(key.status).toBe(400);
    expect(key.issues).toEqual([expect.objectContaining({ path: 'expires_in_days' })]);
  });

  it('requires chat content: missing names it, empty keeps the seed detail', async () => {
    const missing = await chat[transport]({});
    expect(missing.status).toBe(400);
    expect(missing.detail).toBe('Invalid input: content: Message content is required');
    const blank = await chat[transport]({ content: ' \n ' });
    expect(blank.status).toBe(400);
    expect(blank.detail).toBe('Message content is required');
    const stray = await chat[transport]({ content: 'hi', history_id: 'x' });
    expect(stray.status).toBe(400);
    expect(stray.detail).toBe('Invalid input: Unrecognized key: "history_id"');
  });
});

describe('strict input elsewhere', () => {
  it('parses query-string numbers from their text, and refuses an unknown parameter', async () => {
    const page = await api<{ personas: unknown[] }>('GET', '/personas?limit=1&offset=0', {
      token: admin.token,
    });
    expect(page.status).toBe(200);
    expect(page.body.personas).toHaveLength(1);
    const typo = await api('GET', '/personas?limt=1', { token: admin.token });
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ detail: 'Invalid input: Unrecognized key: "limt"' });
  });

  it('holds on the streamed chat route too', async () => {
    const stream = (body: unknown) =>
      t.app.http.inject({
        method: 'POST',
        url: `/api/personas/${personaId}/chat/stream`,
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    const missing = await stream({});
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      detail: 'Invalid input: content: Message content is required',
    });
    const stray = await stream({ content: 'hi', temprature: 1 });
    expect(stray.statusCode).toBe(400);
    expect(stray.json()).toMatchObject({ detail: 'Invalid input: Unrecognized key: "temprature"' });
  });
});
