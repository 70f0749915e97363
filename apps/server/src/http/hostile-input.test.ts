import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';

/**
 * Every documented REST route, fed hostile input as an admin (so it reaches the services): no
 * request may produce a 500 or leak internals, whatever its shape.
 */
let t: TestApp;
let admin: Actor;
let operations: { method: string; path: string }[];

const PATH_VALUES = [
  'x',
  '00000000-0000-4000-8000-000000000000',
  '%00',
  '..%2F..%2Fetc',
  'a'.repeat(300),
  '-1',
];
const BODIES: unknown[] = [
  null,
  [],
  'a string',
  42,
  {},
  { content: '\u0000', name: ['x'], query: { $ne: 1 }, persona_name: 1e308, top_k: -1 },
  {
    persona_name: 'x'.repeat(101),
    rag: { db_collections: 'not-a-list', query_threshold: 'NaN', top_k: 1.5 },
    temperature: Number.MAX_SAFE_INTEGER,
  },
  { email: 'a@b.c', password: 'p'.repeat(300), role: 'admin', file_name: '', content: ' ' },
  { message_history_id: 'nope', content: 'hi', title: '', description: 'd'.repeat(3000) },
];
const QUERIES = ['', '?limit=-1', '?limit=abc&offset=1e30', '?input=%7B', '?limit=1&limit=2'];

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  admin = await adminActor(t);
  const doc = (await t.app.http.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  operations = Object.entries(doc.paths)
    .flatMap(([path, item]) =>
      Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })),
    )
    // Logging out would end the admin session the rest of the run depends on.
    .filter((op) => op.path !== '/auth/logout');
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('hostile input on every REST route', () => {
  it('never yields a 500, a stack trace or a non-JSON error', async () => {
    expect(operations.length).toBeGreaterThan(25);
    const failures: string[] = [];
    let unauthorized = 0;
    for (const op of operations) {
      for (const value of PATH_VALUES) {
        const path = `/api${op.path.replace(/\{[^}]+\}/g, value)}`;
        const variants =
          op.method === 'GET'
            ? QUERIES.map((q) => ({ url: `${path}${q}`, payload: undefined }))
            : BODIES.map((body) => ({ url: path, payload: JSON.stringify(body) }));
        for (const { url, payload } of variants) {
          const res = await t.app.http.inject({
            method: op.method as 'GET',
            url,
            headers: {
              authorization: `Bearer ${admin.token}`,
              ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            },
            payload,
          });
          if (res.statusCode === 401) unauthorized += 1;
          const where = `${op.method} ${url.slice(0, 80)} ${payload?.slice(0, 60) ?? ''}`;
          if (res.statusCode >= 500)
            failures.push(`${res.statusCode} ${where}: ${res.body.slice(0, 120)}`);
          if (/\bat .+:\d+:\d+\)|node_modules|\/src\//.test(res.body))
            failures.push(`internals leaked ${where}`);
          if (res.statusCode >= 400) {
            const body = res.json() as { detail?: unknown; code?: unknown };
            if (typeof body.detail !== 'string' || typeof body.code !== 'string') {
              failures.push(`no {detail, code} ${where}: ${res.body.slice(0, 120)}`);
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The admin's session held throughout, so every request reached past authentication.
    expect(unauthorized).toBe(0);
  }, 240_000);
});
