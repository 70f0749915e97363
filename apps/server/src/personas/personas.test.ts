import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { type RestCall, restClient } from '../test-support/rest-client';
import { startTestApp, type TestApp } from '../test-support/test-app';

let t: TestApp;
let api: RestCall;
let admin: Actor;
let builder: Actor;
let otherBuilder: Actor;
let user: Actor;

beforeAll(async () => {
  t = await startTestApp(TEST_ADMIN_ENV);
  api = restClient(t.app.http);
  admin = await adminActor(t);
  builder = await createActor(t, admin.token, 'builder');
  otherBuilder = await createActor(t, admin.token, 'builder', 'other');
  user = await createActor(t, admin.token, 'user');
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

type Created = { message: string; persona_id: string; persona_name: string };

async function build(actor: Actor, body: Record<string, unknown>) {
  const res = await api<Created>('POST', '/personas/build', { token: actor.token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.persona_id;
}

/** Collections arrive with the knowledge routes; until then tests insert rows directly. */
async function createCollection(owner: Actor, name: string, visibility: 'private' | 'shared') {
  await t.database.db
    .insertInto('collections')
    .values({
      name,
      owner_id: owner.id,
      visibility,
      embedding_model: 'offline-hashing-v1',
      dimensions: 384,
    })
    .execute();
}

describe("the seed's persona routes", () => {
  it('walks the seed examples: build → owned → update, with the documented bodies', async () => {
    // The seed's body, with its placeholder creator "user123" replaced by the builder's own id.
    const seedBody = {
      persona_name: 'Marketing Persona',
      creator_id: builder.id,
      description: 'Persona to target marketing campaigns.',
    };
    const created = await api<Created>('POST', '/personas/build', {
      token: builder.token,
      body: seedBody,
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      message: 'Persona created successfully',
      persona_id: expect.any(String),
      persona_name: 'Marketing Persona',
    });
    const id = created.body.persona_id;

    const owned = await api('GET', '/personas/owned', { token: builder.token });
    expect(owned.status).toBe(200);
    expect(owned.body).toMatchObject({ [id]: 'Marketing Persona' });
    expect(Object.values(owned.body).every((v) => typeof v === 'string')).toBe(true);

    const updated = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: { persona_name: 'Marketing Persona v2', description: 'Refined marketing persona.' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ message: 'Persona updated successfully' });

    const persona = await api('GET', `/personas/${id}`, { token: builder.token });
    expect(persona.body).toMatchObject({
      persona_id: id,
      persona_name: 'Marketing Persona v2',
      creator_id: builder.id,
      description: 'Refined marketing persona.',
      system_prompt: '',
      model: 'offline',
      temperature: 0.7,
      visibility: 'public',
      rag: { db_collections: [], query_threshold: 0.3, query_metric: 'cosine', top_k: 4 },
    });
  });

  it("answers the seed's unknown creator with its exact 404", async () => {
    for (const actor of [admin, builder]) {
      const res = await api('POST', '/personas/build', {
        token: actor.token,
        body: { persona_name: 'Marketing Persona', creator_id: 'user123' },
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({
        detail: 'Invalid user_id: User does not exist',
        code: 'NOT_FOUND',
      });
    }
  });

  it("answers an unknown persona on PUT with the seed's exact 404", async () => {
    for (const id of ['67890', '00000000-0000-4000-8000-000000000000']) {
      const res = await api('PUT', `/personas/build/${id}`, {
        token: builder.token,
        body: { persona_name: 'x' },
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ detail: 'Persona not found', code: 'NOT_FOUND' });
    }
  });
});

describe('creator_id rules', () => {
  it('lets a builder name only themself, and an admin anyone', async () => {
    const denied = await api('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'Not mine', creator_id: otherBuilder.id },
    });
    expect(denied.status).toBe(403);
    const id = await build(admin, { persona_name: 'For the builder', creator_id: otherBuilder.id });
    expect((await api('GET', `/personas/${id}`, { token: admin.token })).body).toMatchObject({
      creator_id: otherBuilder.id,
    });
    expect((await api('GET', '/personas/owned', { token: otherBuilder.token })).body).toMatchObject(
      {
        [id]: 'For the builder',
      },
    );
  });

  it('lets only an admin move a persona to another creator', async () => {
    const id = await build(builder, { persona_name: 'Movable' });
    const byBuilder = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: { creator_id: otherBuilder.id },
    });
    expect(byBuilder.status).toBe(403);
    // Naming themself as creator is not a change.
    expect(
      (
        await api('PUT', `/personas/build/${id}`, {
          token: builder.token,
          body: { creator_id: builder.id },
        })
      ).status,
    ).toBe(200);
    const byAdmin = await api('PUT', `/personas/build/${id}`, {
      token: admin.token,
      body: { creator_id: otherBuilder.id },
    });
    expect(byAdmin.status).toBe(200);
    expect((await api('GET', `/personas/${id}`, { token: admin.token })).body).toMatchObject({
      creator_id: otherBuilder.id,
    });
    const unknown = await api('PUT', `/personas/build/${id}`, {
      token: admin.token,
      body: { creator_id: '00000000-0000-4000-8000-000000000000' },
    });
    expect(unknown.body).toMatchObject({
      detail: 'Invalid user_id: User does not exist',
      code: 'NOT_FOUND',
    });
  });
});

describe('mass assignment', () => {
  it('refuses persona_id, created_at and other unknown fields on build, naming them', async () => {
    const res = await api('POST', '/personas/build', {
      token: builder.token,
      body: {
        persona_name: 'Sturdy',
        persona_id: '00000000-0000-4000-8000-000000000001',
        created_at: '2000-01-01T00:00:00Z',
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'BAD_REQUEST',
      detail: 'Invalid input: Unrecognized keys: "persona_id", "created_at"',
    });
    const owned = await api('GET', '/personas/owned', { token: builder.token });
    expect(Object.values(owned.body)).not.toContain('Sturdy');
  });

  it('ignores the read-only fields on update: the path names the persona', async () => {
    const id = await build(builder, { persona_name: 'Sturdy' });
    const before = (
      await api<{ created_at: string }>('GET', `/personas/${id}`, { token: builder.token })
    ).body;
    const res = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: {
        persona_id: '00000000-0000-4000-8000-000000000001',
        created_at: '2000-01-01T00:00:00Z',
        updated_at: '2000-01-01T00:00:00Z',
        persona_name: 'Sturdy 2',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const after = (
      await api<{ persona_id: string; persona_name: string; created_at: string }>(
        'GET',
        `/personas/${id}`,
        { token: builder.token },
      )
    ).body;
    expect(after).toMatchObject({ persona_id: id, persona_name: 'Sturdy 2' });
    expect(after.created_at).toBe(before.created_at);
  });

  it('takes back, unchanged, a persona read with GET', async () => {
    await createCollection(builder, 'round-trip-notes', 'private');
    const id = await build(builder, {
      persona_name: 'Round trip',
      description: 'Read, then written back',
      temperature: 1.1,
      visibility: 'private',
      rag: { db_collections: ['round-trip-notes'], query_metric: 'euclidean', top_k: 6 },
    });
    const read = await api<Record<string, unknown>>('GET', `/personas/${id}`, {
      token: builder.token,
    });
    const put = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: read.body,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const again = await api<Record<string, unknown>>('GET', `/personas/${id}`, {
      token: builder.token,
    });
    expect({ ...again.body, updated_at: undefined }).toEqual({
      ...read.body,
      updated_at: undefined,
    });
  });

  it('refuses an unknown field on update, naming it, and changes nothing', async () => {
    const id = await build(builder, { persona_name: 'Typo', temperature: 0.7 });
    const res = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: { temprature: 1.5 },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ detail: 'Invalid input: Unrecognized key: "temprature"' });
    const after = await api('GET', `/personas/${id}`, { token: builder.token });
    expect(after.body).toMatchObject({ temperature: 0.7 });
  });
});

describe('validation', () => {
  it.each([
    ['an empty name', { persona_name: '' }],
    ['a 101-character name', { persona_name: 'x'.repeat(101) }],
    ['a long description', { persona_name: 'x', description: 'd'.repeat(2001) }],
    ['a long system prompt', { persona_name: 'x', system_prompt: 's'.repeat(20_001) }],
    ['temperature above 2', { persona_name: 'x', temperature: 2.5 }],
    ['negative temperature', { persona_name: 'x', temperature: -0.1 }],
    ['an unknown metric', { persona_name: 'x', rag: { query_metric: 'dot' } }],
    ['top_k 0', { persona_name: 'x', rag: { top_k: 0 } }],
    ['top_k 21', { persona_name: 'x', rag: { top_k: 21 } }],
    [
      'a cosine threshold above 1',
      { persona_name: 'x', rag: { query_metric: 'cosine', query_threshold: 1.5 } },
    ],
    [
      'a negative euclidean threshold',
      { persona_name: 'x', rag: { query_metric: 'euclidean', query_threshold: -0.1 } },
    ],
    [
      'a default-metric threshold out of range',
      { persona_name: 'x', rag: { query_threshold: -2 } },
    ],
    ['a bad collection name', { persona_name: 'x', rag: { db_collections: ['Bad Name'] } }],
    [
      '51 collections',
      { persona_name: 'x', rag: { db_collections: Array.from({ length: 51 }, (_, i) => `c${i}`) } },
    ],
    ['a wrong type', { persona_name: 42 }],
  ])('rejects %s with 400 and creates nothing', async (_label, body) => {
    const before = Object.keys(
      (await api('GET', '/personas/owned', { token: builder.token })).body,
    ).length;
    const res = await api('POST', '/personas/build', { token: builder.token, body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', detail: expect.any(String) });
    const after = Object.keys(
      (await api('GET', '/personas/owned', { token: builder.token })).body,
    ).length;
    expect(after).toBe(before);
  });

  it('pages the persona list and refuses an absurd offset with 400', async () => {
    const page = await api<{ personas: unknown[] }>('GET', '/personas?limit=1&offset=0', {
      token: builder.token,
    });
    expect(page.status).toBe(200);
    expect(page.body.personas.length).toBeLessThanOrEqual(1);
    const absurd = await api('GET', '/personas?offset=1e20', { token: builder.token });
    expect(absurd.status).toBe(400);
    expect(absurd.body).toMatchObject({
      code: 'BAD_REQUEST',
      detail: expect.stringMatching(/offset/),
    });
  });

  it('defaults the threshold to the metric and resets it when only the metric changes', async () => {
    const id = await build(builder, { persona_name: 'Euclid', rag: { query_metric: 'euclidean' } });
    const p = await api<{ rag: { query_threshold: number } }>('GET', `/personas/${id}`, {
      token: builder.token,
    });
    expect(p.body.rag.query_threshold).toBe(1.2);
    await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: { rag: { query_metric: 'cosine' } },
    });
    const q = await api<{ rag: { query_threshold: number; query_metric: string } }>(
      'GET',
      `/personas/${id}`,
      {
        token: builder.token,
      },
    );
    expect(q.body.rag).toMatchObject({ query_metric: 'cosine', query_threshold: 0.3 });
    const bad = await api('PUT', `/personas/build/${id}`, {
      token: builder.token,
      body: { rag: { query_threshold: 1.9 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      detail: 'For the cosine metric the threshold must be between -1 and 1',
    });
  });
});

describe('collections of a persona', () => {
  it('must exist and be readable by the creator, keep their order, and leave with a deleted collection', async () => {
    await createCollection(builder, 'mine', 'private');
    await createCollection(otherBuilder, 'theirs-shared', 'shared');
    await createCollection(otherBuilder, 'theirs-private', 'private');
    await createCollection(admin, 'admins-private', 'private');

    const id = await build(builder, {
      persona_name: 'Reader',
      rag: { db_collections: ['theirs-shared', 'mine'] },
    });
    const p = await api<{ rag: { db_collections: string[] } }>('GET', `/personas/${id}`, {
      token: builder.token,
    });
    expect(p.body.rag.db_collections).toEqual(['theirs-shared', 'mine']);

    const unknown = await api('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'x', rag: { db_collections: ['nope'] } },
    });
    expect(unknown.status).toBe(404);
    // Someone else's private collection is answered as unknown: the builder may not know it exists.
    const hidden = await api('POST', '/personas/build', {
      token: builder.token,
      body: { persona_name: 'x', rag: { db_collections: ['theirs-private'] } },
    });
    expect(hidden.status).toBe(404);
    // The admin can read it, but the creator they name cannot: 403.
    const unreadable = await api('POST', '/personas/build', {
      token: admin.token,
      body: {
        persona_name: 'x',
        creator_id: builder.id,
        rag: { db_collections: ['admins-private'] },
      },
    });
    expect(unreadable.status).toBe(403);

    expect((await api('DELETE', '/collections/mine', { token: builder.token })).status).toBe(200);
    const q = await api<{ rag: { db_collections: string[] } }>('GET', `/personas/${id}`, {
      token: builder.token,
    });
    expect(q.body.rag.db_collections).toEqual(['theirs-shared']);
  });
});

describe('authorization matrix', () => {
  type Who = 'anonymous' | 'user' | 'owner' | 'other builder' | 'admin';
  type Visibility = 'public' | 'private';
  // Changing or deleting: its creator and admins; a public persona is a 403 to other builders,
  // a private one does not exist for them.
  const changedByCreatorOrAdmin = (who: Who, v: Visibility) =>
    ({
      anonymous: 401,
      user: 403,
      owner: 200,
      'other builder': v === 'public' ? 403 : 404,
      admin: 200,
    })[who];
  const routes: {
    name: string;
    call: (id: string) => {
      method: 'GET' | 'POST' | 'PUT' | 'DELETE';
      url: string;
      body?: unknown;
    };
    expected: (who: Who, visibility: Visibility) => number;
  }[] = [
    {
      name: 'GET /personas/owned',
      call: () => ({ method: 'GET', url: '/personas/owned' }),
      expected: (who) => (who === 'anonymous' ? 401 : 200),
    },
    {
      name: 'POST /personas/build',
      call: () => ({ method: 'POST', url: '/personas/build', body: { persona_name: 'matrix' } }),
      expected: (who) =>
        ({ anonymous: 401, user: 403, owner: 200, 'other builder': 200, admin: 200 })[who],
    },
    {
      name: 'PUT /personas/build/{id}',
      call: (id) => ({
        method: 'PUT',
        url: `/personas/build/${id}`,
        body: { description: 'changed' },
      }),
      expected: changedByCreatorOrAdmin,
    },
    {
      name: 'GET /personas',
      call: () => ({ method: 'GET', url: '/personas?limit=200' }),
      expected: (who) => (who === 'anonymous' ? 401 : 200),
    },
    {
      name: 'GET /personas/{id}',
      call: (id) => ({ method: 'GET', url: `/personas/${id}` }),
      expected: (who, v) =>
        ({
          anonymous: 401,
          user: v === 'public' ? 200 : 404,
          owner: 200,
          'other builder': v === 'public' ? 200 : 404,
          admin: 200,
        })[who],
    },
    // Last, because it removes the persona.
    {
      name: 'DELETE /personas/build/{id}',
      call: (id) => ({ method: 'DELETE', url: `/personas/build/${id}` }),
      expected: changedByCreatorOrAdmin,
    },
  ];
  const whos: Who[] = ['anonymous', 'user', 'owner', 'other builder', 'admin'];
  const cases = routes.flatMap((route) =>
    (['public', 'private'] as const).flatMap((visibility) =>
      whos.map((who) => ({ route, visibility, who })),
    ),
  );

  it.each(cases.map((c) => [c.route.name, c.who, c.visibility, c] as const))(
    '%s as %s on a %s persona',
    async (_name, who, visibility, c) => {
      const id = await build(builder, { persona_name: `matrix ${visibility}`, visibility });
      const token = {
        anonymous: undefined,
        user: user.token,
        owner: builder.token,
        'other builder': otherBuilder.token,
        admin: admin.token,
      }[who];
      const { method, url, body } = c.route.call(id);
      const res = await api(method, url, { token, body });
      expect(res.status).toBe(c.route.expected(who, visibility));
      if (res.status >= 400)
        expect(res.body).toMatchObject({ detail: expect.any(String), code: expect.any(String) });
      if (method === 'GET' && url === '/personas?limit=200' && who !== 'anonymous') {
        const ids = (res.body as { personas: { persona_id: string }[] }).personas.map(
          (p) => p.persona_id,
        );
        const visible = visibility === 'public' || who === 'owner' || who === 'admin';
        expect(ids.includes(id)).toBe(visible);
      }
    },
  );
});
