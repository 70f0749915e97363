// The audit trail: each audited action leaves exactly one event, in the transaction of its change
// (a change that rolled back leaves none), naming the request that made it.
import type { AuditAction, AuditEvent } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';
import { auditRepository } from './repository';

let t: TestApp;
let admin: Actor;

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  admin = await adminActor(t);
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

async function events(query = ''): Promise<AuditEvent[]> {
  const page = await t.api<{ events: AuditEvent[] }>('GET', `/audit?limit=200${query}`, {
    token: admin.token,
  });
  expect(page.status).toBe(200);
  return page.body.events;
}

/** The events `act` added, oldest first, with the X-Request-Id of each response it got. */
async function added(act: () => Promise<unknown>): Promise<AuditEvent[]> {
  const before = new Set((await events()).map((e) => e.id));
  await act();
  return (await events()).filter((e) => !before.has(e.id)).reverse();
}

const actions = (list: AuditEvent[]) => list.map((e) => e.action);

describe('the audit trail', () => {
  it('records each audited action exactly once, with who, what, where from and which request', async () => {
    const builder = await createActor(t, admin.token, 'builder');
    const expectOne = async (
      action: AuditAction,
      act: () => Promise<{ status: number; headers: Record<string, unknown> }>,
      targetId?: string,
    ) => {
      let requestId: unknown;
      const found = await added(async () => {
        const answer = await act();
        expect(answer.status, action).toBe(200);
        requestId = answer.headers['x-request-id'];
      });
      expect(actions(found), action).toEqual([action]);
      expect(found[0]).toMatchObject({
        target_type: action.slice(0, action.indexOf('.')),
        request_id: requestId,
        ip: expect.any(String),
        ...(targetId ? { target_id: targetId } : {}),
      });
      return found[0]!;
    };

    const collection = await expectOne('collection.created', () =>
      t.api('POST', '/collections', { token: builder.token, body: { name: 'audited' } }),
    );
    expect(collection.actor_id).toBe(builder.id);
    const document = await expectOne('document.added', () =>
      t.api('POST', '/collections/audited/documents', {
        token: builder.token,
        body: { file_name: 'a.txt', content: 'Audited words.' },
      }),
    );
    await expectOne('document.deleted', () =>
      t.api('DELETE', `/collections/audited/documents/${document.target_id}`, {
        token: builder.token,
      }),
    );
    const persona = await expectOne('persona.created', () =>
      t.api('POST', '/personas/build', { token: builder.token, body: { persona_name: 'Aud' } }),
    );
    await expectOne('persona.updated', () =>
      t.api('PUT', `/personas/build/${persona.target_id}`, {
        token: builder.token,
        body: { description: 'changed' },
      }),
    );
    await expectOne('persona.deleted', () =>
      t.api('DELETE', `/personas/build/${persona.target_id}`, { token: builder.token }),
    );
    await expectOne('collection.deleted', () =>
      t.api('DELETE', '/collections/audited', { token: builder.token }),
    );
    const key = await expectOne('api_key.created', () =>
      t.api('POST', '/auth/api-keys', { token: builder.token, body: { name: 'k' } }),
    );
    await expectOne('api_key.deleted', () =>
      t.api('DELETE', `/auth/api-keys/${key.target_id}`, { token: builder.token }),
    );
    await expectOne(
      'auth.login',
      () =>
        t.api('POST', '/auth/login', {
          body: { email: builder.email, password: 'actor-password' },
        }),
      builder.id,
    );
    const failed = await added(() =>
      t.api('POST', '/auth/login', { body: { email: builder.email, password: 'wrong-password' } }),
    );
    expect(failed).toMatchObject([
      { action: 'auth.login_failed', actor_id: null, target_id: builder.id },
    ]);
    await expectOne(
      'user.role_changed',
      () =>
        t.api('PUT', `/users/${builder.id}/role`, { token: admin.token, body: { role: 'user' } }),
      builder.id,
    );
    await expectOne(
      'user.quota_changed',
      () =>
        t.api('PUT', `/users/${builder.id}/quota`, {
          token: admin.token,
          body: { daily_token_limit: 10 },
        }),
      builder.id,
    );
    await expectOne(
      'user.deleted',
      () => t.api('DELETE', `/users/${builder.id}`, { token: admin.token }),
      builder.id,
    );
  });

  it('records nothing for a change that failed or rolled back', async () => {
    const builder = await createActor(t, admin.token, 'builder');
    await t.api('POST', '/collections', { token: builder.token, body: { name: 'taken-name' } });
    const none = await added(async () => {
      // A name taken: the insert is refused inside the transaction that would have audited it.
      const taken = await t.api('POST', '/collections', {
        token: builder.token,
        body: { name: 'taken-name' },
      });
      expect(taken.status).toBe(409);
      // Unknown targets: nothing to change, nothing recorded.
      expect(
        (await t.api('DELETE', `/users/${crypto.randomUUID()}`, { token: admin.token })).status,
      ).toBe(404);
      expect(
        (
          await t.api('PUT', `/users/${crypto.randomUUID()}/quota`, {
            token: admin.token,
            body: { daily_token_limit: 5 },
          })
        ).status,
      ).toBe(404);
      // A persona build whose collection is unknown fails before anything is written.
      expect(
        (
          await t.api('POST', '/personas/build', {
            token: builder.token,
            body: { persona_name: 'X', rag: { db_collections: ['no-such-collection'] } },
          })
        ).status,
      ).toBe(404);
    });
    expect(none).toEqual([]);
  });

  it('commits and rolls back with the transaction it is given', async () => {
    const db = t.app.db;
    const marker = crypto.randomUUID();
    await db
      .transaction()
      .execute(async (trx) => {
        await auditRepository.record(trx, {
          actorId: null,
          action: 'persona.deleted',
          targetId: marker,
        });
        throw new Error('the change failed after its event was written');
      })
      .catch(() => undefined);
    expect((await events()).some((e) => e.target_id === marker)).toBe(false);
  });

  it('pages newest first with a cursor, filters by actor and action, and is for admins only', async () => {
    const builder = await createActor(t, admin.token, 'builder');
    for (const name of ['p1', 'p2', 'p3']) {
      await t.api('POST', '/personas/build', {
        token: builder.token,
        body: { persona_name: name },
      });
    }
    const first = await t.api<{ events: AuditEvent[]; next_cursor: string }>(
      'GET',
      `/audit?limit=2&actor_id=${builder.id}&action=persona.created`,
      { token: admin.token },
    );
    expect(first.body.events).toHaveLength(2);
    const second = await t.api<{ events: AuditEvent[]; next_cursor: string | null }>(
      'GET',
      `/audit?limit=2&actor_id=${builder.id}&action=persona.created&cursor=${first.body.next_cursor}`,
      { token: admin.token },
    );
    expect(second.body.events).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const all = [...first.body.events, ...second.body.events];
    expect(new Set(all.map((e) => e.id)).size).toBe(3);
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort().reverse());
    expect((await t.api('GET', '/audit', { token: builder.token })).status).toBe(403);
  });
});
