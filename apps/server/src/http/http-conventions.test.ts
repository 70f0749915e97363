// The contract's "Methods" and "Browsers" conventions: 405 with Allow, CORS_ORIGINS, the security
// headers, and JSON-only bodies (415) — on /api, /trpc and the host's own routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../env';
import { type Actor, adminActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://elsewhere.example.com';

let t: TestApp;
let admin: Actor;
let personaId: string;

beforeAll(async () => {
  t = await startTestApp({
    ...TEST_ADMIN_ENV,
    CORS_ORIGINS: `${ALLOWED}, http://localhost:5173`,
  });
  admin = await adminActor(t);
  const built = await t.api<{ persona_id: string }>('POST', '/personas/build', {
    token: admin.token,
    body: { persona_name: 'Conventions' },
  });
  personaId = built.body.persona_id;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

function send(
  method: Method,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown } = {},
) {
  const json = opts.body !== undefined;
  return t.app.http.inject({
    method,
    url,
    headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    payload: json ? JSON.stringify(opts.body) : undefined,
  });
}

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((name) => name.startsWith('access-control-'));

let sequence = 0;
const freshEmail = () => `conventions-${++sequence}-${Date.now()}@example.com`;

describe('a known path with a wrong method', () => {
  it.each<[Method, string, string]>([
    ['GET', '/api/auth/login', 'POST'],
    ['DELETE', '/api/system/info', 'GET, HEAD'],
    ['PATCH', '/api/collections/some-name', 'GET, HEAD, DELETE'],
    ['PUT', '/api/message_histories/h1', 'GET, HEAD, PATCH, DELETE'],
    ['GET', '/api/personas/p1/chat/stream', 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['DELETE', '/readyz', 'GET, HEAD'],
    ['PUT', '/openapi.json', 'GET, HEAD'],
    ['POST', '/docs', 'GET, HEAD'],
    ['DELETE', '/docs/static/swagger-ui.css', 'GET, HEAD'],
    ['OPTIONS', '/api/auth/me', 'GET, HEAD'],
  ])('%s %s is a 405 with Allow: %s', async (method, url, allow) => {
    const res = await send(method, url);
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json()).toMatchObject({
      code: 'METHOD_NOT_SUPPORTED',
      detail: expect.stringContaining(method),
    });
  });

  it.each<[Method, string]>([
    ['GET', '/api/nope'],
    ['DELETE', '/api/personas/p1/nope'],
    ['POST', '/nope'],
    ['GET', '/docsx'],
  ])('while an unknown path (%s %s) stays a 404', async (method, url) => {
    const res = await send(method, url);
    expect(res.statusCode).toBe(404);
    expect(res.headers.allow).toBeUndefined();
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('HEAD is GET without the body: its status and headers, its authorization', async () => {
    const anonymous = await send('HEAD', '/api/personas');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).toBe('');
    const get = await send('GET', `/api/personas/${personaId}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    const head = await send('HEAD', `/api/personas/${personaId}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(
      (
        await send('HEAD', '/api/personas/missing-persona', {
          headers: { authorization: `Bearer ${admin.token}` },
        })
      ).statusCode,
    ).toBe(404);
  });

  it('is not how a right method on a parameterised path is answered', async () => {
    const res = await send('GET', `/api/personas/${personaId}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('CORS_ORIGINS', () => {
  const preflight = (origin: string, url = '/api/personas') =>
    send('OPTIONS', url, {
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });

  it('answers a listed origin’s preflight with what an API client sends', async () => {
    for (const origin of [ALLOWED, 'http://localhost:5173']) {
      const res = await preflight(origin);
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(String(res.headers['access-control-allow-headers']).toLowerCase().split(', ')).toEqual(
        ['authorization', 'content-type', 'idempotency-key'],
      );
      expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
      expect(res.headers.vary).toContain('Origin');
    }
  });

  it('gives an origin not listed no CORS header, on a preflight or a real request', async () => {
    const denied = await preflight(OTHER);
    expect(corsHeaders(denied.headers)).toEqual([]);
    expect(denied.statusCode).toBe(405);
    const real = await send('GET', '/api/system/info', { headers: { origin: OTHER } });
    expect(real.statusCode).toBe(200);
    expect(corsHeaders(real.headers)).toEqual([]);
  });

  it('lets a listed origin read Location, Retry-After and X-Request-Id on real responses', async () => {
    for (const url of ['/api/system/info', '/api/auth/me', '/trpc/system.info']) {
      const res = await send('GET', url, { headers: { origin: ALLOWED } });
      expect(res.headers['access-control-allow-origin'], url).toBe(ALLOWED);
      expect(res.headers.vary, url).toMatch(/\bOrigin\b/);
      expect(String(res.headers['access-control-expose-headers']).split(', ')).toEqual([
        'Location',
        'Retry-After',
        'X-Request-Id',
      ]);
    }
  });

  it('carries its headers on the server-sent event stream too', async () => {
    const res = await send('POST', `/api/personas/${personaId}/chat/stream`, {
      headers: { origin: ALLOWED, authorization: `Bearer ${admin.token}` },
      body: { content: 'hello' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('is a comma list of origins, empty by default, and refuses what is not an origin', () => {
    const base = { NODE_ENV: 'test' };
    expect(loadConfig(base).corsOrigins).toEqual([]);
    expect(
      loadConfig({ ...base, CORS_ORIGINS: ' https://a.example ,http://b.example:8080,' }),
    ).toMatchObject({ corsOrigins: ['https://a.example', 'http://b.example:8080'] });
    expect(() => loadConfig({ ...base, CORS_ORIGINS: 'https://a.example/' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, CORS_ORIGINS: 'a.example' })).toThrow(/CORS_ORIGINS/);
  });
});

describe('security headers', () => {
  it('X-Content-Type-Options: nosniff on every kind of response', async () => {
    const samples: [Method, string, { headers?: Record<string, string>; body?: unknown }?][] = [
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['GET', '/openapi.json'],
      ['GET', '/docs'],
      ['GET', '/docs/static/swagger-ui.css'],
      ['GET', '/api/system/info'],
      ['GET', '/api/auth/me'],
      ['POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'x' } }],
      ['GET', '/api/personas/%E0%A4%A'],
      ['GET', '/nope'],
      ['DELETE', '/healthz'],
      ['POST', '/api/auth/login', { headers: { 'content-type': 'text/plain' }, body: 'x' }],
      ['GET', '/trpc/system.info'],
      ['GET', '/trpc/auth.me'],
      ['POST', '/trpc/auth.login', { body: { email: 'bad' } }],
    ];
    for (const [method, url, opts] of samples) {
      const res = await send(method, url, opts);
      expect(res.headers['x-content-type-options'], `${method} ${url} (${res.statusCode})`).toBe(
        'nosniff',
      );
    }
  });

  it('Cache-Control: no-store on the REST responses that carry a token, and not elsewhere', async () => {
    const email = freshEmail();
    const registered = await send('POST', '/api/auth/register', {
      body: { email, password: 'password-1' },
    });
    const loggedIn = await send('POST', '/api/auth/login', {
      body: { email, password: 'password-1' },
    });
    const key = await send('POST', '/api/auth/api-keys', {
      headers: { authorization: `Bearer ${loggedIn.json().token}` },
      body: { name: 'ci' },
    });
    for (const res of [registered, loggedIn, key]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    const info = await send('GET', '/api/system/info');
    expect(info.headers['cache-control']).toBeUndefined();
  });

  it('Cache-Control: no-store on the tRPC responses that carry a token, batched or not', async () => {
    const email = freshEmail();
    const registered = await send('POST', '/trpc/auth.register', {
      body: { email, password: 'password-1' },
    });
    const loggedIn = await send('POST', '/trpc/auth.login', {
      body: { email, password: 'password-1' },
    });
    const token = loggedIn.json().result.data.token as string;
    const key = await send('POST', '/trpc/auth.createApiKey', {
      headers: { authorization: `Bearer ${token}` },
      body: { name: 'ci' },
    });
    const batch = await send('POST', '/trpc/auth.login,auth.logout?batch=1', {
      headers: { authorization: `Bearer ${token}` },
      body: { 0: { email, password: 'password-1' }, 1: {} },
    });
    for (const res of [registered, loggedIn, key, batch]) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    const info = await send('GET', '/trpc/system.info');
    expect(info.headers['cache-control']).toBeUndefined();
  });

  it('/docs sends a Content-Security-Policy and forbids framing, its assets too', async () => {
    for (const url of ['/docs', '/docs/static/swagger-initializer.js']) {
      const res = await send('GET', url);
      expect(res.statusCode).toBe(200);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("'unsafe-eval'");
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    const api = await send('GET', '/api/system/info');
    expect(api.headers['content-security-policy']).toBeUndefined();
  });
});

describe('JSON bodies only', () => {
  it('answers text/plain on the SSE chat route with 415, not 400', async () => {
    const res = await send('POST', `/api/personas/${personaId}/chat/stream`, {
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: expect.stringContaining('text/plain'),
    });
  });

  it.each([
    ['POST', '/api/auth/login', 'text/plain'],
    ['POST', '/api/collections', 'application/x-www-form-urlencoded'],
    ['PATCH', '/api/message_histories/h1', 'text/plain'],
    ['POST', '/api/personas/p1/chat', 'multipart/form-data; boundary=x'],
  ])('answers %s %s sent as %s with 415', async (method, url, contentType) => {
    const res = await send(method as Method, url, {
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': contentType },
      body: 'x=1',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('still takes JSON with a charset, and body-less POSTs', async () => {
    const json = await send('POST', '/api/auth/login', {
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: { email: 'nobody@example.com', password: 'wrong-password' },
    });
    expect(json.statusCode).toBe(401);
    const { token } = (
      await send('POST', '/api/auth/register', {
        body: { email: freshEmail(), password: 'password-1' },
      })
    ).json();
    const logout = await send('POST', '/api/auth/logout', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.statusCode).toBe(200);
  });
});
