import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestResponse, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

// Small limits, so that reaching them is cheap. Each test uses addresses of its own (forwarded
// ones: TRUST_PROXY is on), so the counts of one never reach another.
const REGISTER_MAX = 3;
const LOGIN_MAX_PER_ADDRESS = 5;
const PASSWORD = 'correct horse';

let t: TestApp;
let counter = 0;

/** A fresh email, so that every account and every failure is another email's. */
const nextEmail = () => {
  counter += 1;
  return `someone${counter}@example.com`;
};

/** A REST call from `address`, as a trusted proxy forwards it. */
function from(address: string) {
  const api = restClient(t.app.http);
  return <T = Record<string, unknown>>(path: string, body: unknown): Promise<RestResponse<T>> =>
    api<T>('POST', path, { body, headers: { 'x-forwarded-for': address } });
}

async function countRegistrations(app: TestApp, address: string): Promise<number> {
  const rows = await app.database.db
    .selectFrom('registrations')
    .select('id')
    .where('address', '=', address)
    .execute();
  return rows.length;
}

function expectThrottled(res: RestResponse, windowSeconds: number) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', detail: expect.any(String) });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

beforeAll(async () => {
  t = await startTestApp({
    TRUST_PROXY: 'true',
    REGISTER_MAX_PER_ADDRESS: String(REGISTER_MAX),
    LOGIN_MAX_FAILURES_PER_ADDRESS: String(LOGIN_MAX_PER_ADDRESS),
    LOGIN_MAX_FAILURES: '3',
    LOGIN_WINDOW_MINUTES: '15',
  });
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('registration per client address', () => {
  it('refuses the account past REGISTER_MAX_PER_ADDRESS with 429 and Retry-After; another address still registers', async () => {
    const crowded = from('203.0.113.10');
    for (let i = 0; i < REGISTER_MAX; i++) {
      const res = await crowded('/auth/register', { email: nextEmail(), password: PASSWORD });
      expect(res.status).toBe(200);
    }
    const email = nextEmail();
    const refused = await crowded('/auth/register', { email, password: PASSWORD });
    expectThrottled(refused, 3600);
    expect(refused.body.detail).toMatch(/address/);
    // Nothing was created for the refused one: its email is free from elsewhere.
    const elsewhere = await from('203.0.113.11')('/auth/register', { email, password: PASSWORD });
    expect(elsewhere.status).toBe(200);
  });

  it('counts only accounts created: a taken email does not use up the address', async () => {
    const taken = nextEmail();
    expect(
      (await from('203.0.113.20')('/auth/register', { email: taken, password: PASSWORD })).status,
    ).toBe(200);
    const address = from('203.0.113.21');
    for (let i = 0; i < REGISTER_MAX + 2; i++) {
      const res = await address('/auth/register', { email: taken, password: PASSWORD });
      expect(res.status).toBe(409);
    }
    expect(await countRegistrations(t, '203.0.113.21')).toBe(0);
    for (let i = 0; i < REGISTER_MAX; i++) {
      const res = await address('/auth/register', { email: nextEmail(), password: PASSWORD });
      expect(res.status).toBe(200);
    }
  });

  it('never creates more than the limit from one address, however parallel', async () => {
    const attempts = 10;
    const answers = await Promise.all(
      Array.from({ length: attempts }, () =>
        from('203.0.113.30')('/auth/register', { email: nextEmail(), password: PASSWORD }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(REGISTER_MAX);
    expect(statuses.filter((s) => s === 429)).toHaveLength(attempts - REGISTER_MAX);
    expect(await countRegistrations(t, '203.0.113.30')).toBe(REGISTER_MAX);
  });
});

describe('failed logins per client address', () => {
  it('refuses the failure past LOGIN_MAX_FAILURES_PER_ADDRESS, over different emails, with 429 — even a right password', async () => {
    const spraying = from('203.0.113.40');
    const victim = { email: nextEmail(), password: PASSWORD };
    expect((await from('203.0.113.41')('/auth/register', victim)).status).toBe(200);
    // Each email fails once only: the per-email limit (3) is never what refuses here.
    for (let i = 0; i < LOGIN_MAX_PER_ADDRESS; i++) {
      const res = await spraying('/auth/login', { email: nextEmail(), password: 'wrong-guess' });
      expect(res.status).toBe(401);
    }
    const next = await spraying('/auth/login', { email: nextEmail(), password: 'wrong-guess' });
    expectThrottled(next, 15 * 60);
    expect(next.body.detail).toMatch(/address/);
    expectThrottled(await spraying('/auth/login', victim), 15 * 60);
    // The account itself is not locked: from another address its owner signs in.
    expect((await from('203.0.113.42')('/auth/login', victim)).status).toBe(200);
  });

  it('evaluates at most LOGIN_MAX_FAILURES_PER_ADDRESS wrong passwords from one address, however parallel', async () => {
    const batch = 5;
    const requests = 4;
    const answers = await Promise.all(
      Array.from({ length: requests }, () => {
        const input = Object.fromEntries(
          Array.from({ length: batch }, (_, i) => [
            i,
            { email: nextEmail(), password: 'wrong-guess' },
          ]),
        );
        return t.app.http.inject({
          method: 'POST',
          url: `/trpc/${Array(batch).fill('auth.login').join(',')}?batch=1`,
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.50' },
          payload: JSON.stringify(input),
        });
      }),
    );
    const codes = answers.flatMap((res) =>
      (res.json() as { error: { data: { code: string } } }[]).map((r) => r.error.data.code),
    );
    expect(codes).toHaveLength(batch * requests);
    // Each UNAUTHORIZED is a password evaluated; every other attempt was refused before that.
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(LOGIN_MAX_PER_ADDRESS);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(
      batch * requests - LOGIN_MAX_PER_ADDRESS,
    );
  });

  it('a right password clears its email’s failures, and with them their count for the address', async () => {
    const address = from('203.0.113.60');
    const me = { email: nextEmail(), password: PASSWORD };
    expect((await address('/auth/register', me)).status).toBe(200);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) {
        const res = await address('/auth/login', { ...me, password: 'mistyped-it' });
        expect(res.status).toBe(401);
      }
      expect((await address('/auth/login', me)).status).toBe(200);
    }
  });
});

describe('the client address', () => {
  it('is the socket’s while TRUST_PROXY is unset: a forged X-Forwarded-For changes nothing', async () => {
    await using plain = await startTestApp({ REGISTER_MAX_PER_ADDRESS: '2' });
    const api = restClient(plain.app.http);
    const register = (forged: string) =>
      api('POST', '/auth/register', {
        body: { email: nextEmail(), password: PASSWORD },
        headers: { 'x-forwarded-for': forged },
        remoteAddress: '192.0.2.7',
      });
    expect((await register('198.51.100.1')).status).toBe(200);
    expect((await register('198.51.100.2')).status).toBe(200);
    expectThrottled(await register('198.51.100.3'), 3600);
    expect(await countRegistrations(plain, '192.0.2.7')).toBe(2);
    const rows = await plain.database.db.selectFrom('registrations').select('address').execute();
    expect(rows.map((r) => r.address)).toEqual(['192.0.2.7', '192.0.2.7']);
  });

  it('is the forwarded one when TRUST_PROXY trusts the peer', async () => {
    const api = restClient(t.app.http);
    const res = await api('POST', '/auth/register', {
      body: { email: nextEmail(), password: PASSWORD },
      headers: { 'x-forwarded-for': '198.51.100.70' },
      remoteAddress: '192.0.2.8',
    });
    expect(res.status).toBe(200);
    expect(await countRegistrations(t, '198.51.100.70')).toBe(1);
    expect(await countRegistrations(t, '192.0.2.8')).toBe(0);
  });
});
