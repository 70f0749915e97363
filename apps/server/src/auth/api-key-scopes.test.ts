// Scoped API keys: the generated matrix (every REST operation × every scope, allowed exactly when
// PROCEDURE_SCOPES says), and what users of such keys rely on — a chat-only key chats but writes
// nothing, a key limited to one persona sees no other, a demoted owner's keys lose their rights.
import { randomUUID } from 'node:crypto';
import {
  appRouter,
  PROCEDURE_SCOPES,
  type ProcedureAccess,
  REQUEST_EXAMPLES,
  SCOPES,
  type Scope,
} from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

let t: TestApp;
let admin: Actor;

beforeAll(async () => {
  t = await startTestApp({ ...TEST_ADMIN_ENV, CHAT_RATE_LIMIT_PER_MINUTE: '10000' });
  admin = await adminActor(t);
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

async function keyFor(owner: Actor, body: Record<string, unknown>): Promise<string> {
  const created = await t.api<{ key: string }>('POST', '/auth/api-keys', {
    token: owner.token,
    body: { name: 'scoped', ...body },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  return created.body.key;
}

/** Every REST operation with the procedure behind it, and the streaming chat route. */
function restOperations() {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { meta?: unknown } }
  >;
  const operations = Object.entries(procedures).flatMap(([name, p]) => {
    const openapi = (p._def.meta as { openapi?: { method: HttpMethod; path: string } } | undefined)
      ?.openapi;
    return openapi ? [{ name, method: openapi.method, path: openapi.path }] : [];
  });
  operations.push({
    name: 'chat.stream',
    method: 'POST' as const,
    path: '/personas/{persona_id}/chat/stream',
  });
  return operations;
}

describe('PROCEDURE_SCOPES', () => {
  it('names exactly the procedures of the router', () => {
    expect(Object.keys(PROCEDURE_SCOPES).sort()).toEqual(
      Object.keys(appRouter._def.procedures).sort(),
    );
  });
});

describe('the scope matrix: every operation × every scope', () => {
  it('allows an operation exactly when the key holds its scope (or it needs none)', async () => {
    const keys = Object.fromEntries(
      await Promise.all(SCOPES.map(async (s) => [s, await keyFor(admin, { scopes: [s] })])),
    ) as Record<Scope, string>;
    const wrong: string[] = [];
    let checked = 0;
    for (const op of restOperations()) {
      const access = (PROCEDURE_SCOPES as Record<string, ProcedureAccess>)[op.name];
      if (access === 'public') continue;
      // Ids that match nothing: the operation runs as far as its checks go and changes nothing.
      const url = op.path.replace(/\{[^}]+\}/g, () => `matrix-${randomUUID()}`);
      const example = (REQUEST_EXAMPLES as Record<string, unknown>)[op.name];
      for (const scope of SCOPES) {
        const answer = await t.app.http.inject({
          method: op.method,
          url: `/api${url}`,
          headers: {
            authorization: `Bearer ${keys[scope]}`,
            ...(op.method === 'GET' ? {} : { 'content-type': 'application/json' }),
          },
          payload: op.method === 'GET' ? undefined : JSON.stringify(example ?? {}),
        });
        const body = answer.json() as { reason?: string; scope?: string };
        const refusedFor =
          answer.statusCode === 403 &&
          (body.reason === 'missing_scope' || body.reason === 'session_required');
        const shouldRefuse = access === 'session' || (access !== 'any' && access !== scope);
        checked += 1;
        if (refusedFor !== shouldRefuse) {
          wrong.push(
            `${op.method} ${op.path} with [${scope}]: ${answer.statusCode} ${answer.body}`,
          );
        } else if (shouldRefuse && access !== 'session' && body.scope !== access) {
          wrong.push(`${op.method} ${op.path}: names scope ${body.scope}, not ${access}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(150);
  });
});

describe('scoped keys as their users rely on them', () => {
  it('a chat-only key can chat but gets 403 missing_scope on every write', async () => {
    const builder = await createActor(t, admin.token, 'builder');
    const built = await t.api<{ persona_id: string }>('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'Scoped' },
    });
    const key = await keyFor(builder, { scopes: ['chat'] });
    const chat = await t.api('POST', `/personas/${built.body.persona_id}/chat`, {
      token: key,
      body: { content: 'Hello' },
    });
    expect(chat.status).toBe(200);
    for (const [method, url, body] of [
      ['POST', '/personas/build', { persona_name: 'No' }],
      ['PUT', `/personas/build/${built.body.persona_id}`, { persona_name: 'No' }],
      ['DELETE', `/personas/build/${built.body.persona_id}`, undefined],
      ['POST', '/collections', { name: 'nope' }],
    ] as const) {
      const refused = await t.api(method, url, { token: key, body });
      expect(refused.status, `${method} ${url}`).toBe(403);
      expect(refused.body).toMatchObject({ reason: 'missing_scope', code: 'FORBIDDEN' });
    }
    // Nothing was changed by the refused writes.
    const kept = await t.api<{ persona_name: string }>(
      'GET',
      `/personas/${built.body.persona_id}`,
      { token: builder.token },
    );
    expect(kept.body.persona_name).toBe('Scoped');
  });

  it('a key limited to one persona gets 404 on the others, and lists only that one', async () => {
    const builder = await createActor(t, admin.token, 'builder');
    const build = async (name: string) =>
      (
        await t.api<{ persona_id: string }>('POST', '/personas/build', {
          token: builder.token,
          body: { persona_name: name },
        })
      ).body.persona_id;
    const mine = await build('Allowed');
    const other = await build('Elsewhere');
    // Written in capitals: still the same persona.
    const key = await keyFor(builder, { persona_ids: [mine.toUpperCase()] });
    expect((await t.api('GET', `/personas/${mine}`, { token: key })).status).toBe(200);
    expect((await t.api('GET', `/personas/${other}`, { token: key })).status).toBe(404);
    const chat = await t.api('POST', `/personas/${other}/chat`, {
      token: key,
      body: { content: 'Hello' },
    });
    expect(chat.status).toBe(404);
    const listed = await t.api<{ personas: { persona_id: string }[] }>(
      'GET',
      '/personas?limit=200',
      { token: key },
    );
    expect(listed.body.personas.map((p) => p.persona_id)).toEqual([mine]);
    const owned = await t.api<Record<string, string>>('GET', '/personas/owned', { token: key });
    expect(Object.keys(owned.body)).toEqual([mine]);
  });

  it("a demoted owner's keys lose the rights at once", async () => {
    const builder = await createActor(t, admin.token, 'builder');
    const key = await keyFor(builder, { scopes: ['personas:write', 'chat'] });
    const before = await t.api('POST', '/personas/build', {
      token: key,
      body: { persona_name: 'Before' },
    });
    expect(before.status).toBe(200);
    await t.api('PUT', `/users/${builder.id}/role`, { token: admin.token, body: { role: 'user' } });
    const after = await t.api('POST', '/personas/build', {
      token: key,
      body: { persona_name: 'After' },
    });
    expect(after.status).toBe(403);
  });

  it('a scope beyond the role is refused at creation, and keys are managed only with a session', async () => {
    const user = await createActor(t, admin.token, 'user');
    const beyond = await t.api('POST', '/auth/api-keys', {
      token: user.token,
      body: { name: 'greedy', scopes: ['chat', 'knowledge:write'] },
    });
    expect(beyond.status).toBe(403);
    const key = await keyFor(user, { scopes: ['chat'] });
    for (const [method, url] of [
      ['POST', '/auth/api-keys'],
      ['GET', '/auth/api-keys'],
    ] as const) {
      const refused = await t.api(method, url, {
        token: key,
        body: method === 'POST' ? { name: 'wider' } : undefined,
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ reason: 'session_required' });
    }
    const listed = await t.api<{ api_keys: { scopes: string[] | null }[] }>(
      'GET',
      '/auth/api-keys',
      { token: user.token },
    );
    expect(listed.body.api_keys.map((k) => k.scopes)).toEqual([['chat']]);
  });

  it('persona_ids may name only personas the owner can see', async () => {
    const user = await createActor(t, admin.token, 'user');
    const unknown = await t.api('POST', '/auth/api-keys', {
      token: user.token,
      body: { name: 'ghost', persona_ids: [randomUUID()] },
    });
    expect(unknown.status).toBe(404);
  });

  it('holds on tRPC too: the scope check is one middleware for every transport', async () => {
    const key = await keyFor(admin, { scopes: ['chat'] });
    const answer = await t.app.http.inject({
      method: 'GET',
      url: '/trpc/users.list',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answer.statusCode).toBe(403);
    expect(answer.json()).toMatchObject({
      error: { data: { reason: 'missing_scope', scope: 'admin' } },
    });
  });
});
