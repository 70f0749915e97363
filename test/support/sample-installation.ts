import { expect } from 'vitest';
import { ADMIN, COFFEE_NOTES, FOLLOW_UP, PASSWORD, PERSONA, QUESTION, TEA_GUIDE } from './fixtures';
import { rest } from './rest';

/**
 * A small installation built through the API the way people would — an admin, a builder and a
 * user, an API key, a shared collection with documents, a public and a private persona, chat
 * histories, a quota, a failed login — then read back whole, to prove a move, a backup or a
 * restore kept all of it. The server must start with `adminEnv()`.
 */
export interface Installation {
  adminToken: string;
  builder: { id: string; email: string; token: string };
  user: { id: string; email: string; token: string };
  apiKey: string;
  personaId: string;
  privatePersonaId: string;
  historyId: string;
}

/** A REST call that must succeed: its body, or an error naming the call and its answer. */
async function ok<T = Record<string, unknown>>(
  url: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  token?: string,
  body?: unknown,
): Promise<T> {
  const answer = await rest<T>(url, { method, path, token, body });
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

export async function buildInstallation(url: string): Promise<Installation> {
  const adminToken = (await ok<{ token: string }>(url, 'POST', '/auth/login', undefined, ADMIN))
    .token;
  const register = async (who: string) => {
    const email = `${who}@example.com`;
    const r = await ok<{ token: string; user_id: string }>(
      url,
      'POST',
      '/auth/register',
      undefined,
      {
        email,
        password: PASSWORD,
        name: who,
      },
    );
    return { id: r.user_id, email, token: r.token };
  };
  const builder = await register('bea');
  const user = await register('uli');
  await ok(url, 'PUT', `/users/${builder.id}/role`, adminToken, { role: 'builder' });
  await ok(url, 'PUT', `/users/${user.id}/quota`, adminToken, { daily_token_limit: 50_000 });

  const apiKey = (
    await ok<{ key: string }>(url, 'POST', '/auth/api-keys', builder.token, {
      name: 'ci',
      scopes: ['chat', 'knowledge:read'],
    })
  ).key;
  await ok(url, 'POST', '/collections', builder.token, {
    name: 'handbook',
    description: 'Brewing guides',
    visibility: 'shared',
  });
  await ok(url, 'POST', '/collections/handbook/documents', builder.token, TEA_GUIDE);
  await ok(url, 'POST', '/collections/handbook/documents', builder.token, COFFEE_NOTES);
  const personaId = (
    await ok<{ persona_id: string }>(url, 'POST', '/personas/build', builder.token, {
      ...PERSONA,
      rag: { db_collections: ['handbook'], top_k: 2 },
    })
  ).persona_id;
  const privatePersonaId = (
    await ok<{ persona_id: string }>(url, 'POST', '/personas/build', builder.token, {
      persona_name: 'Private notes',
      visibility: 'private',
      temperature: 0.7,
    })
  ).persona_id;

  const first = await ok<{ message_history_id: string }>(
    url,
    'POST',
    `/personas/${personaId}/chat`,
    user.token,
    { content: QUESTION },
  );
  await ok(url, 'POST', `/personas/${personaId}/chat`, user.token, {
    content: FOLLOW_UP,
    message_history_id: first.message_history_id,
  });
  await ok(url, 'POST', `/personas/${privatePersonaId}/chat`, builder.token, {
    content: 'Remember the kettle.',
  });
  // A failed login: the throttles' table has a row too.
  const failed = await rest(url, {
    method: 'POST',
    path: '/auth/login',
    body: { email: user.email, password: 'not-the-password' },
  });
  expect(failed.status).toBe(401);
  return {
    adminToken,
    builder,
    user,
    apiKey,
    personaId,
    privatePersonaId,
    historyId: first.message_history_id,
  };
}

/**
 * Everything the installation holds, as its users read it through the API (session tokens only:
 * using the API key would change its `last_used_at`). Two servers over the same data answer the
 * same, to the microsecond of every timestamp.
 */
export async function readInstallation(url: string, i: Installation) {
  const get = (path: string, token: string) => ok(url, 'GET', path, token);
  const personaHistories = (token: string, personaId: string) =>
    get(`/personas/${personaId}/message_history`, token);
  return {
    users: await get('/users?limit=200', i.adminToken),
    me: {
      admin: await get('/auth/me', i.adminToken),
      builder: await get('/auth/me', i.builder.token),
      user: await get('/auth/me', i.user.token),
    },
    apiKeys: await get('/auth/api-keys', i.builder.token),
    collections: await get('/collections', i.builder.token),
    collection: await get('/collections/handbook', i.builder.token),
    documents: await get('/collections/handbook/documents', i.builder.token),
    search: await ok(url, 'POST', '/collections/handbook/search', i.builder.token, {
      query: QUESTION,
      top_k: 3,
    }),
    personas: {
      builder: await get('/personas', i.builder.token),
      user: await get('/personas', i.user.token),
      public: await get(`/personas/${i.personaId}`, i.user.token),
      private: await get(`/personas/${i.privatePersonaId}`, i.builder.token),
    },
    histories: {
      user: await personaHistories(i.user.token, i.personaId),
      builder: await personaHistories(i.builder.token, i.privatePersonaId),
    },
    messages: await get(`/message_histories/${i.historyId}/messages`, i.user.token),
    usage: await get('/usage?group_by=user', i.adminToken),
    audit: await get('/audit?limit=200', i.adminToken),
  };
}

/**
 * What a user of the copy does next works: signing in with a password, the API key, a chat that
 * continues a copied history, a new document found by search, a new account — new rows that
 * must not collide with copied ids.
 */
export async function useInstallation(url: string, i: Installation): Promise<void> {
  for (const [who, role] of [
    [ADMIN.email, 'admin'],
    [i.builder.email, 'builder'],
    [i.user.email, 'user'],
  ] as const) {
    const password = who === ADMIN.email ? ADMIN.password : PASSWORD;
    const login = await ok<{ role: string }>(url, 'POST', '/auth/login', undefined, {
      email: who,
      password,
    });
    expect(login.role, who).toBe(role);
  }
  const byKey = await ok<{ email: string }>(url, 'GET', '/auth/me', i.apiKey);
  expect(byKey.email).toBe(i.builder.email);

  await ok(url, 'POST', `/personas/${i.personaId}/chat`, i.user.token, {
    content: 'And black tea?',
    message_history_id: i.historyId,
  });
  const messages = await ok<{ messages: { content: string }[] }>(
    url,
    'GET',
    `/message_histories/${i.historyId}/messages`,
    i.user.token,
  );
  expect(messages.messages.map((m) => m.content).slice(0, 1)).toEqual([QUESTION]);
  expect(messages.messages).toHaveLength(6);
  expect(messages.messages[4]?.content).toBe('And black tea?');

  await ok(url, 'POST', '/collections/handbook/documents', i.builder.token, {
    file_name: 'matcha.md',
    doc_path: 'guides/matcha.md',
    content_type: 'text/markdown',
    content: '# Matcha\n\nMatcha powder is whisked with a bamboo whisk into water at 75 degrees.',
  });
  const found = await ok<{ hits: { file_name: string }[] }>(
    url,
    'POST',
    '/collections/handbook/search',
    i.builder.token,
    { query: 'How is matcha powder whisked?', top_k: 3 },
  );
  expect(found.hits[0]?.file_name).toBe('matcha.md');

  await ok(url, 'POST', '/auth/register', undefined, {
    email: `after-${Date.now()}@example.com`,
    password: PASSWORD,
  });
}
