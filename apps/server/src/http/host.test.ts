import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ BODY_LIMIT_BYTES: '1024' });
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

/** A POST of exactly these bytes, as a client building its own requests sends it. */
function post(url: string, payload: string, contentType = 'application/json') {
  return t.app.http.inject({
    method: 'POST',
    url,
    headers: { 'content-type': contentType },
    payload,
  });
}

function expectNoInternals(body: string) {
  expect(body).not.toMatch(/at .+\(.+:\d+:\d+\)|node_modules|\/src\/|stack/i);
}

describe('the HTTP host', () => {
  it('answers health and readiness', async () => {
    const health = await t.app.http.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await t.app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      vector_indexes: { loaded: 0, rebuilt: 0 },
      replayed: 0,
      lexical_indexes: { loaded: 0, rebuilt: 0 },
      lag: { changes: 0, seconds: 0 },
    });
  });

  it('serves the same procedure over REST and tRPC', async () => {
    const viaRest = await t.app.http.inject({ method: 'GET', url: '/api/system/info' });
    const viaTrpc = await t.app.http.inject({ method: 'GET', url: '/trpc/system.info' });
    expect(viaRest.statusCode).toBe(200);
    expect(viaTrpc.statusCode).toBe(200);
    expect(viaRest.json()).toEqual(viaTrpc.json().result.data);
    expect(viaRest.json()).toMatchObject({ name: 'personas', database: t.database.kind });
  });

  it.each([
    ['a procedure error', 'GET', '/api/auth/me', undefined, 401, 'UNAUTHORIZED'],
    ['a validation error', 'POST', '/api/auth/login', '{"email":1}', 400, 'BAD_REQUEST'],
    ['a host error', 'POST', '/api/auth/login', '{oops', 400, 'PARSE_ERROR'],
    ['an unknown route', 'GET', '/api/nope', undefined, 404, 'NOT_FOUND'],
  ])('answers %s as RFC 9457 problem details', async (_, method, url, payload, status, code) => {
    const res = await t.app.http.inject({
      method: method as 'GET' | 'POST',
      url,
      ...(payload === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, payload }),
    });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.json()).toMatchObject({
      type: 'about:blank',
      status,
      code,
      detail: expect.any(String),
    });
    expect(res.json().title).toMatch(/^[A-Z][A-Za-z ]+$/);
  });

  it('keeps tRPC errors in its own envelope', async () => {
    const res = await t.app.http.inject({ method: 'GET', url: '/trpc/auth.me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
  });

  it.each([
    ['GET', '/nope'],
    ['POST', '/nope/deeper?x=1'],
    ['GET', '/api/nope'],
    ['DELETE', '/api/personas/p1/unknown-route'],
  ])('answers an unknown route %s %s with 404 {detail}', async (method, url) => {
    const res = await t.app.http.inject({ method: method as 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ detail: expect.any(String), code: 'NOT_FOUND' });
    expectNoInternals(res.body);
  });

  it.each(['/api/auth/login', '/nope'])(
    'answers malformed JSON sent to %s with 400 {detail}',
    async (url) => {
      const res = await post(url, '{"unterminated": ');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        detail: 'Malformed JSON in request body',
        code: 'PARSE_ERROR',
      });
      expectNoInternals(res.body);
    },
  );

  it('answers a body over the limit with 413', async () => {
    const res = await post('/api/system/info', JSON.stringify({ filler: 'x'.repeat(5000) }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: expect.any(String) });
  });

  it('answers an unsupported content type with 415 and no stack', async () => {
    const res = await post('/api/auth/login', '<x/>', 'application/xml');
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ detail: expect.any(String) });
    expectNoInternals(res.body);
  });

  it('answers a malformed URL with 400 {detail}', async () => {
    const res = await t.app.http.inject({ method: 'GET', url: '/api/personas/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_REQUEST', detail: expect.any(String) });
  });

  it('answers text holding NUL characters with 400, before it reaches the database', async () => {
    const res = await post(
      '/api/auth/register',
      JSON.stringify({ email: 'nul@example.com', password: 'password-1', name: 'a\u0000b' }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      detail: 'Invalid input: name: text must not contain NUL (\\u0000) characters',
      code: 'BAD_REQUEST',
    });
  });

  it('answers a deeply nested body with a 4xx, not a crash', async () => {
    const res = await post('/api/auth/login', `${'['.repeat(100)}${']'.repeat(100)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('tags every response with a request id, reusing a sane incoming one', async () => {
    const fresh = await t.app.http.inject({ method: 'GET', url: '/healthz' });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await t.app.http.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-123' },
    });
    expect(given.headers['x-request-id']).toBe('trace-123');
    const hostile = await t.app.http.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id\nwith newline' },
    });
    expect(hostile.headers['x-request-id']).not.toContain('bad');
  });
});
