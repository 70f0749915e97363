import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';
import { ensureAdmin } from '../users/service';

type Session = { user_id: string; token: string; expires_at: string; role: string };

const ADMIN = { email: 'root@example.com', password: 'root-password-1' };
let t: TestApp;
let api: RestCall;
let adminToken: string;
let counter = 0;

async function register(overrides: Record<string, unknown> = {}) {
  counter += 1;
  const body = { email: `user${counter}@example.com`, password: 'correct horse', ...overrides };
  const res = await api<Session>('POST', '/auth/register', { body });
  expect(res.status).toBe(200);
  return { ...res.body, email: body.email as string, password: body.password as string };
}

beforeAll(async () => {
  t = await startTestApp({
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOGIN_MAX_FAILURES: '10',
  });
  api = restClient(t.app.http);
  const login = await api<Session>('POST', '/auth/login', { body: ADMIN });
  expect(login.status).toBe(200);
  expect(login.body.role).toBe('admin');
  adminToken = login.body.token;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('sessions', () => {
  it('register → login → me → logout, and the token dies at once', async () => {
    const reg = await register({ name: 'Ada' });
    expect(reg).toMatchObject({ role: 'user', user_id: expect.any(String) });
    expect(new Date(reg.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const login = await api<Session>('POST', '/auth/login', {
      body: { email: reg.email.toUpperCase(), password: reg.password },
    });
    expect(login.status).toBe(200);
    expect(login.body.token).not.toBe(reg.token);

    const me = await api('GET', '/auth/me', { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user_id: reg.user_id,
      email: reg.email,
      name: 'Ada',
      role: 'user',
      created_at: expect.any(String),
      daily_token_limit: null,
      quota: { daily_token_limit: null, used_today: 0, remaining_today: null },
    });

    expect((await api('POST', '/auth/logout', { token: login.body.token })).body).toEqual({
      message: 'Logged out successfully',
    });
    const after = await api('GET', '/auth/me', { token: login.body.token });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'UNAUTHORIZED', detail: expect.any(String) });
    // The other session of the same user is untouched.
    expect((await api('GET', '/auth/me', { token: reg.token })).status).toBe(200);
  });

  it('rejects missing, malformed, unknown, tampered and expired tokens with 401', async () => {
    const reg = await register();
    const [id] = reg.token.split('.');
    const tampered = `${id}.${'a'.repeat(32)}`;
    for (const token of [
      undefined,
      'garbage',
      tampered,
      'aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    ]) {
      expect((await api('GET', '/auth/me', { token })).status).toBe(401);
    }
    await t.database.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id!)
      .execute();
    expect((await api('GET', '/auth/me', { token: reg.token })).status).toBe(401);
  });

  it('slides the expiry forward once less than half the lifetime is left', async () => {
    const reg = await register();
    const [id] = reg.token.split('.');
    const soon = new Date(Date.now() + 2 * 86_400_000);
    await t.database.db
      .updateTable('sessions')
      .set({ expires_at: soon })
      .where('id', '=', id!)
      .execute();
    expect((await api('GET', '/auth/me', { token: reg.token })).status).toBe(200);
    const row = await t.database.db
      .selectFrom('sessions')
      .select('expires_at')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(row.expires_at.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it('answers unknown email and wrong password with the same 401 detail', async () => {
    const reg = await register();
    const unknown = await api('POST', '/auth/login', {
      body: { email: 'nobody@example.com', password: 'whatever-123' },
    });
    const wrong = await api('POST', '/auth/login', {
      body: { email: reg.email, password: 'wrong-password' },
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('refuses the 11th failed login within the window with 429 and Retry-After, even with the right password', async () => {
    const reg = await register();
    for (let i = 0; i < 10; i++) {
      const res = await api('POST', '/auth/login', {
        body: { email: reg.email, password: `nope-${i}-xx` },
      });
      expect(res.status).toBe(401);
    }
    const eleventh = await api('POST', '/auth/login', {
      body: { email: reg.email, password: 'nope-11-xx' },
    });
    expect(eleventh.status).toBe(429);
    expect(eleventh.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', detail: expect.any(String) });
    const retryAfter = Number(eleventh.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    const right = await api('POST', '/auth/login', {
      body: { email: reg.email, password: reg.password },
    });
    expect(right.status).toBe(429);
    // Other accounts are not affected.
    const other = await register();
    expect(
      (await api('POST', '/auth/login', { body: { email: other.email, password: other.password } }))
        .status,
    ).toBe(200);
  });

  it('evaluates at most LOGIN_MAX_FAILURES wrong passwords for one email, however parallel', async () => {
    const reg = await register();
    const batch = 5;
    const input = Object.fromEntries(
      Array.from({ length: batch }, (_, i) => [i, { email: reg.email, password: `wrong-${i}-xx` }]),
    );
    const url = `/trpc/${Array(batch).fill('auth.login').join(',')}?batch=1`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.app.http.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(input),
        }),
      ),
    );
    const codes = answers.flatMap((res) =>
      (res.json() as { error: { data: { code: string } } }[]).map((r) => r.error.data.code),
    );
    expect(codes).toHaveLength(40);
    // Each UNAUTHORIZED is a password evaluated; every other attempt was refused before that.
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(10);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(30);
  });

  it('closes registration when REGISTRATION=closed', async () => {
    await using closed = await startTestApp({ REGISTRATION: 'closed' });
    const res = await restClient(closed.app.http)('POST', '/auth/register', {
      body: { email: 'late@example.com', password: 'password-123' },
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringMatching(/closed/i) });
  });

  it('answers a taken email with 409', async () => {
    const reg = await register();
    const again = await api('POST', '/auth/register', {
      body: { email: reg.email, password: 'another-pass' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'CONFLICT' });
  });
});

describe('API keys', () => {
  it('work as a bearer, show the key only once, and stop working when deleted', async () => {
    const owner = await register();
    const created = await api<{
      api_key_id: string;
      key: string;
      name: string;
      expires_at: string | null;
    }>('POST', '/auth/api-keys', { token: owner.token, body: { name: 'ci', expires_in_days: 7 } });
    expect(created.status).toBe(200);
    expect(created.body.key).toMatch(/^pk_/);
    expect(new Date(created.body.expires_at!).getTime()).toBeGreaterThan(
      Date.now() + 6 * 86_400_000,
    );

    const me = await api('GET', '/auth/me', { token: created.body.key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user_id: owner.user_id });

    const listed = await api<{ api_keys: Record<string, unknown>[] }>('GET', '/auth/api-keys', {
      token: owner.token,
    });
    expect(listed.body.api_keys).toEqual([
      {
        api_key_id: created.body.api_key_id,
        name: 'ci',
        created_at: expect.any(String),
        expires_at: created.body.expires_at,
        last_used_at: expect.any(String),
        scopes: null,
        persona_ids: null,
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    // Logging out with a key is refused: keys are revoked by deleting them.
    expect((await api('POST', '/auth/logout', { token: created.body.key })).status).toBe(400);

    const deleted = await api('DELETE', `/auth/api-keys/${created.body.api_key_id}`, {
      token: owner.token,
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ message: 'API key deleted successfully' });
    expect((await api('GET', '/auth/me', { token: created.body.key })).status).toBe(401);
    expect(
      (await api('DELETE', `/auth/api-keys/${created.body.api_key_id}`, { token: owner.token }))
        .status,
    ).toBe(404);
  });

  it('stop working once expired', async () => {
    const owner = await register();
    const created = await api<{ api_key_id: string; key: string }>('POST', '/auth/api-keys', {
      token: owner.token,
      body: { name: 'short', expires_in_days: 1 },
    });
    await t.database.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', created.body.api_key_id)
      .execute();
    expect((await api('GET', '/auth/me', { token: created.body.key })).status).toBe(401);
  });

  it("are invisible to other users: another user's key cannot be listed or deleted (404)", async () => {
    const owner = await register();
    const intruder = await register();
    const created = await api<{ api_key_id: string; key: string }>('POST', '/auth/api-keys', {
      token: owner.token,
      body: { name: 'mine' },
    });
    const theirList = await api<{ api_keys: unknown[] }>('GET', '/auth/api-keys', {
      token: intruder.token,
    });
    expect(theirList.body.api_keys).toEqual([]);
    const attempt = await api('DELETE', `/auth/api-keys/${created.body.api_key_id}`, {
      token: intruder.token,
    });
    expect(attempt.status).toBe(404);
    expect((await api('GET', '/auth/me', { token: created.body.key })).status).toBe(200);
  });
});

describe('roles and users', () => {
  it('forbids admin routes to users and builders (403), and requires a token (401)', async () => {
    const user = await register();
    expect((await api('GET', '/users', { token: user.token })).status).toBe(403);
    expect((await api('GET', '/users')).status).toBe(401);
    await api('PUT', `/users/${user.user_id}/role`, {
      token: adminToken,
      body: { role: 'builder' },
    });
    const asBuilder = await api('GET', '/users', { token: user.token });
    expect(asBuilder.status).toBe(403);
    expect(asBuilder.body).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('applies a role change on the next request, without a new login', async () => {
    const user = await register();
    const changed = await api('PUT', `/users/${user.user_id}/role`, {
      token: adminToken,
      body: { role: 'admin' },
    });
    expect(changed.body).toEqual({
      message: 'Role updated successfully',
      user_id: user.user_id,
      role: 'admin',
    });
    const list = await api<{ users: { user_id: string; role: string }[] }>('GET', '/users', {
      token: user.token,
    });
    expect(list.status).toBe(200);
    expect(list.body.users.find((u) => u.user_id === user.user_id)?.role).toBe('admin');
    expect(JSON.stringify(list.body)).not.toMatch(/password|hash/i);
    await api('PUT', `/users/${user.user_id}/role`, { token: adminToken, body: { role: 'user' } });
    expect((await api('GET', '/users', { token: user.token })).status).toBe(403);
  });

  it('validates role changes and finds unknown users 404', async () => {
    const user = await register();
    expect(
      (
        await api('PUT', `/users/${user.user_id}/role`, {
          token: adminToken,
          body: { role: 'god' },
        })
      ).status,
    ).toBe(400);
    expect(
      (await api('PUT', '/users/not-a-uuid/role', { token: adminToken, body: { role: 'user' } }))
        .status,
    ).toBe(400);
    const missing = await api('PUT', '/users/00000000-0000-4000-8000-000000000000/role', {
      token: adminToken,
      body: { role: 'builder' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ detail: 'User not found', code: 'NOT_FOUND' });
  });

  it('deleting a user ends their sessions and keys at once', async () => {
    const user = await register();
    const key = await api<{ key: string }>('POST', '/auth/api-keys', {
      token: user.token,
      body: { name: 'k' },
    });
    const res = await api('DELETE', `/users/${user.user_id}`, { token: adminToken });
    expect(res.body).toEqual({ message: 'User deleted successfully' });
    expect((await api('GET', '/auth/me', { token: user.token })).status).toBe(401);
    expect((await api('GET', '/auth/me', { token: key.body.key })).status).toBe(401);
    expect((await api('DELETE', `/users/${user.user_id}`, { token: adminToken })).status).toBe(404);
  });

  it('deleting a builder takes their personas, collections and histories with them', async () => {
    const builder = await register();
    await api('PUT', `/users/${builder.user_id}/role`, {
      token: adminToken,
      body: { role: 'builder' },
    });
    const chatter = await register();
    await api('POST', '/collections', {
      token: builder.token,
      body: { name: `gone-${builder.user_id.slice(0, 8)}` },
    });
    const persona = await api<{ persona_id: string }>('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'Doomed' },
    });
    const chat = await api('POST', `/personas/${persona.body.persona_id}/chat`, {
      token: chatter.token,
      body: { content: 'hello' },
    });
    expect(chat.status).toBe(200);
    expect((await api('DELETE', `/users/${builder.user_id}`, { token: adminToken })).status).toBe(
      200,
    );
    expect(
      (await api('GET', `/personas/${persona.body.persona_id}`, { token: adminToken })).status,
    ).toBe(404);
    const collections = await api<{ collections: { owner_id: string }[] }>('GET', '/collections', {
      token: adminToken,
    });
    expect(collections.body.collections.filter((c) => c.owner_id === builder.user_id)).toEqual([]);
    const histories = await t.database.db
      .selectFrom('message_histories')
      .select('id')
      .where('persona_id', '=', persona.body.persona_id)
      .execute();
    expect(histories).toEqual([]);
  });

  it('does not let an admin demote or delete themself', async () => {
    const me = await api<{ user_id: string }>('GET', '/auth/me', { token: adminToken });
    expect((await api('DELETE', `/users/${me.body.user_id}`, { token: adminToken })).status).toBe(
      403,
    );
    expect(
      (
        await api('PUT', `/users/${me.body.user_id}/role`, {
          token: adminToken,
          body: { role: 'user' },
        })
      ).status,
    ).toBe(403);
  });

  it('does not let an admin demote or delete themself by their id in capitals (the same uuid)', async () => {
    const me = await api<{ user_id: string }>('GET', '/auth/me', { token: adminToken });
    const shouted = me.body.user_id.toUpperCase();
    expect(shouted).not.toBe(me.body.user_id);
    const demote = await api('PUT', `/users/${shouted}/role`, {
      token: adminToken,
      body: { role: 'user' },
    });
    expect(demote.status).toBe(403);
    expect((await api('DELETE', `/users/${shouted}`, { token: adminToken })).status).toBe(403);
    const still = await api<{ role: string }>('GET', '/auth/me', { token: adminToken });
    expect(still.status).toBe(200);
    expect(still.body.role).toBe('admin');
    // Another user's id in capitals names that user, and the answer names it as stored.
    const other = await register();
    const promoted = await api<{ user_id: string }>(
      'PUT',
      `/users/${other.user_id.toUpperCase()}/role`,
      { token: adminToken, body: { role: 'builder' } },
    );
    expect(promoted.status).toBe(200);
    expect(promoted.body.user_id).toBe(other.user_id);
  });

  it('bootstraps ADMIN_EMAIL: created at start (see beforeAll), promoted when it exists, password kept', async () => {
    const user = await register();
    expect(
      await ensureAdmin(t.database.db, { email: user.email, password: 'ignored-password' }),
    ).toBe('promoted');
    expect(await ensureAdmin(t.database.db, ADMIN)).toBe('unchanged');
    const login = await api<Session>('POST', '/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.body.role).toBe('admin');
  });
});

describe('hostile input', () => {
  it.each([
    ['missing fields', {}],
    ['wrong types', { email: 42, password: ['x'] }],
    ['a short password', { email: 'short@example.com', password: 'short' }],
    ['a bad email', { email: 'not-an-email', password: 'password-123' }],
    ['a huge password', { email: 'huge@example.com', password: 'x'.repeat(1_500_000) }],
    ['a null body', null],
  ])(
    'answers register with %s by a 400 naming the field, storing nothing',
    async (_label, body) => {
      const before = await t.database.db
        .selectFrom('users')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      const res = await api('POST', '/auth/register', { body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'BAD_REQUEST',
        detail: expect.stringMatching(/^Invalid input/),
      });
      const after = await t.database.db
        .selectFrom('users')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      expect(after.n).toBe(before.n);
    },
  );

  it('answers a 10 MB body with 413', async () => {
    const res = await api('POST', '/auth/register', {
      body: { email: 'big@example.com', password: 'x'.repeat(10 * 1024 * 1024) },
    });
    expect(res.status).toBe(413);
  });

  it('refuses a role in the register body with a 400 naming it: no escalation', async () => {
    const email = 'escalating@example.com';
    const res = await api('POST', '/auth/register', {
      body: { email, password: 'correct horse', role: 'admin' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'BAD_REQUEST',
      detail: 'Invalid input: Unrecognized key: "role"',
    });
    const stored = await t.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirst();
    expect(stored).toBeUndefined();
    // Without the stray field the same account registers as a plain user.
    const reg = await register({ email });
    expect(reg.role).toBe('user');
    expect((await api('GET', '/users', { token: reg.token })).status).toBe(403);
  });
});

describe('secrets at rest', () => {
  it('stores no token, API key or password in clear anywhere', async () => {
    const reg = await register({ password: 'very-distinct-password-42' });
    const key = await api<{ key: string }>('POST', '/auth/api-keys', {
      token: reg.token,
      body: { name: 'x' },
    });
    const secrets = [
      reg.token,
      reg.token.split('.')[1]!,
      key.body.key,
      key.body.key.split('.')[1]!,
      reg.password,
    ];
    for (const table of ['users', 'sessions', 'api_keys', 'login_failures'] as const) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table)}`.execute(t.database.db);
      const dump = JSON.stringify(rows, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
      );
      for (const secret of secrets) expect(dump).not.toContain(secret);
    }
    const user = await t.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', reg.user_id)
      .executeTakeFirstOrThrow();
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
  });
});
