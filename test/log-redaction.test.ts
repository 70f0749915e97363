import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ServerDatabase, serverDatabase } from './support/database';
import { ADMIN, adminEnv } from './support/fixtures';
import { type ServerProcess, startServerProcess } from './support/server-process';

/**
 * The log of a real server process, at its most talkative, holds no secret however a client sent
 * it: chat content, passwords, tokens and API keys, document content and search queries, over
 * REST, the SSE route and tRPC (batched or not, streamed, and GET with its input in the URL), in
 * headers, in query strings, and in requests the server refuses (malformed, oversized, invalid).
 */

const BODY_LIMIT_BYTES = 64 * 1024;
const RUN = randomBytes(6).toString('hex');

/** Each secret this test sent, and how: what must appear on no line of the log. */
const secrets = new Map<string, string>();

/** A fresh secret for one way of sending: letters and digits only, so URL encoding keeps it. */
function marker(way: string): string {
  const value = `zsecret${RUN}n${secrets.size}z`;
  secrets.set(value, way);
  return value;
}

/** A secret the server made (a session token, an API key): logged no more than one sent. */
function keep(way: string, value: string): string {
  secrets.set(value, way);
  return value;
}

let db: ServerDatabase;
let server: ServerProcess;

interface Call {
  token?: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** Sent as is (with a JSON content type unless `headers` says otherwise). */
  raw?: string;
}

/** The request id of every request sent, and what it was: each must show in the log. */
const requests = new Map<string, string>();

/** One request to the server (a POST when it has a body), read to the end (a stream included). */
async function send(path: string, call: Call = {}): Promise<{ status: number; text: string }> {
  const requestId = `redaction-${requests.size}`;
  requests.set(requestId, path);
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  let body: string | undefined;
  if (call.raw !== undefined || call.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = call.raw ?? JSON.stringify(call.body);
  }
  const response = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...headers, ...call.headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** `send`, expecting `status`: a call that did not do what it meant to proves nothing. */
async function expectStatus(status: number, path: string, call: Call = {}): Promise<string> {
  const answer = await send(path, call);
  expect(answer.status, `${path}: ${answer.text}`).toBe(status);
  return answer.text;
}

/** tRPC's URL input parameter, as its links encode it. */
const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/** Whether the server has logged the completion of the request with this id. */
function hasCompleted(requestId: string): boolean {
  return server
    .output()
    .split('\n')
    .some((line) => line.includes(`"reqId":"${requestId}"`) && line.includes('"responseTime"'));
}

/**
 * Sends a secret every way a client can, each request checked to have done what it meant (one
 * that failed for another reason would prove nothing), and returns once the server has logged
 * the last of them.
 */
async function sendSecretsEveryWay(): Promise<void> {
  // Accounts: passwords over REST and tRPC, sessions and an API key.
  const restPassword = marker('password on REST register');
  const registered = JSON.parse(
    await expectStatus(200, '/api/auth/register', {
      body: { email: `rest-${RUN}@example.com`, password: restPassword },
    }),
  ) as { token: string };
  keep('session token from REST register', registered.token);
  const session = JSON.parse(
    await expectStatus(200, '/api/auth/login', {
      body: { email: `rest-${RUN}@example.com`, password: restPassword },
    }),
  ) as { token: string };
  keep('session token from REST login', session.token);
  await expectStatus(401, '/api/auth/login', {
    body: { email: `rest-${RUN}@example.com`, password: marker('wrong password on REST login') },
  });
  const trpcPassword = marker('password on tRPC register');
  const trpcRegistered = JSON.parse(
    await expectStatus(200, '/trpc/auth.register', {
      body: { email: `trpc-${RUN}@example.com`, password: trpcPassword },
    }),
  ) as { result: { data: { token: string } } };
  keep('session token from tRPC register', trpcRegistered.result.data.token);
  // A batch of a good and a bad login (its status is the batch's mix: not asserted).
  await send('/trpc/auth.login,auth.login?batch=1', {
    body: {
      0: { email: `trpc-${RUN}@example.com`, password: trpcPassword },
      1: { email: `trpc-${RUN}@example.com`, password: marker('wrong password, tRPC batch') },
    },
  });

  const admin = JSON.parse(await expectStatus(200, '/api/auth/login', { body: ADMIN })) as {
    token: string;
  };
  const token = keep('admin session token', admin.token);
  const apiKey = JSON.parse(
    await expectStatus(200, '/api/auth/api-keys', { token, body: { name: 'redaction' } }),
  ) as { key: string };
  keep('API key', apiKey.key);
  await expectStatus(200, '/api/auth/me', { token: apiKey.key });
  await expectStatus(401, '/api/auth/me', { token: marker('unknown bearer token') });
  await expectStatus(401, `/api/auth/me?token=${marker('?token= on REST')}`);
  await expectStatus(200, `/openapi.json?token=${marker('?token= on the OpenAPI document')}`);
  await expectStatus(400, `/api/auth/me?access_token=${marker('?access_token= with a bearer')}`, {
    token,
  });

  // Knowledge: a document's content and a search query.
  await expectStatus(200, '/api/collections', { token, body: { name: `logs-${RUN}` } });
  await expectStatus(200, `/api/collections/logs-${RUN}/documents`, {
    token,
    body: { file_name: 'secret.md', content: `The vault code is ${marker('document content')}.` },
  });
  await expectStatus(200, `/api/collections/logs-${RUN}/search`, {
    token,
    body: { query: marker('search query on REST') },
  });
  const built = JSON.parse(
    await expectStatus(200, '/api/personas/build', {
      token,
      body: { persona_name: 'Keeper', rag: { db_collections: [`logs-${RUN}`] } },
    }),
  ) as { persona_id: string };
  const persona = built.persona_id;

  // Chat content over every transport.
  await expectStatus(200, `/api/personas/${persona}/chat`, {
    token,
    body: { content: marker('chat content on REST') },
  });
  await expectStatus(200, `/api/personas/${persona}/chat/stream`, {
    token,
    body: { content: marker('chat content on the SSE route') },
  });
  await expectStatus(200, '/trpc/chat.send', {
    token,
    body: { persona_id: persona, content: marker('chat content, tRPC mutation') },
  });
  await expectStatus(200, '/trpc/chat.send,collections.search?batch=1', {
    token,
    body: {
      0: { persona_id: persona, content: marker('chat content, tRPC batch') },
      1: { name: `logs-${RUN}`, query: marker('search query, tRPC batch') },
    },
  });
  const streamed = await expectStatus(200, '/trpc/chat.stream?batch=1', {
    token,
    headers: { 'content-type': 'application/json', 'trpc-accept': 'application/jsonl' },
    body: { 0: { persona_id: persona, content: marker('chat content, tRPC stream') } },
  });
  expect(streamed).toContain('"type":"done"');
  await expectStatus(
    405,
    `/trpc/chat.stream?input=${input({ persona_id: persona, content: marker('chat content in a tRPC GET URL') })}`,
    { token },
  );
  await expectStatus(
    200,
    `/trpc/chat.stream?batch=1&input=${input({ 0: { persona_id: persona, content: marker('chat content in a streamed tRPC GET URL') } })}`,
    { token, headers: { 'trpc-accept': 'application/jsonl' } },
  );

  await expectStatus(
    405,
    `/trpc/chat.send?input=${input({ persona_id: persona, content: marker('chat content in a GET to a tRPC mutation') })}`,
    { token },
  );

  // Query inputs in URLs: tRPC GET (single and batched) and REST query strings.
  await send(`/trpc/collections.list?input=${input({ cursor: marker('cursor, tRPC GET') })}`, {
    token,
  });
  await send(
    `/trpc/collections.list,personas.get?batch=1&input=${input({ 0: { cursor: marker('cursor, tRPC batched GET') }, 1: { persona_id: marker('id, tRPC batched GET') } })}`,
    { token },
  );
  await send(`/api/collections?cursor=${marker('cursor, REST query string')}`, { token });
  await send(`/api/collections?${marker('a bare query key')}`, { token });
  await send(`/api/collections?api_key=${marker('?api_key= with a bearer')}`, { token });

  // Headers: an Idempotency-Key, valid and not.
  await expectStatus(200, `/api/personas/${persona}/chat`, {
    token,
    headers: { 'idempotency-key': marker('Idempotency-Key header') },
    body: { content: 'hello' },
  });
  await expectStatus(400, `/api/personas/${persona}/chat`, {
    token,
    headers: { 'idempotency-key': `${marker('invalid Idempotency-Key header')} with spaces` },
    body: { content: 'hello' },
  });
  await expectStatus(200, `/api/personas/${persona}/chat/stream`, {
    token,
    headers: { 'idempotency-key': marker('Idempotency-Key header on the SSE route') },
    body: { content: 'hello' },
  });

  // Requests the server refuses, whose errors might echo what they were sent.
  await expectStatus(400, '/api/auth/login', {
    raw: `{"email":"a@example.com","password":"${marker('malformed JSON on REST')}"`,
  });
  await expectStatus(400, '/trpc/auth.login', {
    raw: `{"email":"a@example.com","password":"${marker('malformed JSON on tRPC')}"`,
  });
  await expectStatus(413, `/api/personas/${persona}/chat`, {
    token,
    body: { content: `${marker('oversized body')} ${'x'.repeat(BODY_LIMIT_BYTES)}` },
  });
  await expectStatus(400, `/api/personas/${persona}/chat`, {
    token,
    body: { content: `${marker('chat content over the length limit')} ${'y'.repeat(33_000)}` },
  });
  await expectStatus(400, `/api/personas/${persona}/chat`, {
    token,
    body: { content: `a\u0000${marker('chat content with a NUL')}` },
  });
  await expectStatus(400, `/api/personas/${persona}/chat`, {
    token,
    body: { content: 'hi', [marker('an unknown key')]: true },
  });
  await expectStatus(400, '/api/personas/build', {
    token,
    body: { persona_name: 'Odd', visibility: marker('a value outside an enum') },
  });
  await expectStatus(415, `/api/personas/${persona}/chat`, {
    token,
    headers: { 'content-type': 'text/plain' },
    raw: marker('a text/plain body'),
  });
  await expectStatus(
    400,
    `/trpc/collections.list?input=%7B${marker('malformed JSON in a tRPC URL')}`,
    {
      token,
    },
  );
  await expectStatus(400, `/api/personas/${persona}/chat`, {
    token,
    raw: `${'['.repeat(5000)}"${marker('JSON nested too deep')}"${']'.repeat(5000)}`,
  });
  await send(`/api/%zz/a?token=${marker('?token= on a malformed URL')}`);

  // The last request: once its completion is logged, every line before it has been read.
  await expectStatus(200, '/api/auth/me', { token });
  const last = `redaction-${requests.size - 1}`;
  await vi.waitUntil(() => hasCompleted(last), { timeout: 20_000, interval: 20 });
}

/** The server's whole output, once every request has been sent and logged. */
let lines: string[];

beforeAll(async () => {
  db = await serverDatabase();
  server = await startServerProcess({
    ...adminEnv(),
    ...db.env,
    // As much as the server can log: whatever it logs at any level is covered.
    LOG_LEVEL: 'trace',
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
  });
  await sendSecretsEveryWay();
  lines = server.output().split('\n');
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await db?.[Symbol.asyncDispose]();
});

describe('the server log', () => {
  it('logs every request with its path (so the checks below can fail)', () => {
    const unlogged = [...requests].filter(
      ([requestId]) => !lines.some((line) => line.includes(`"reqId":"${requestId}"`)),
    );
    expect(unlogged).toEqual([]);
    expect(lines.some((line) => line.includes('"url":"/trpc/chat.stream?[Redacted]"'))).toBe(true);
    expect(lines.some((line) => line.includes('"url":"/api/collections"'))).toBe(true);
  });

  it('holds no secret, whichever way a client sent it', () => {
    const leaks = [...secrets].flatMap(([secret, way]) =>
      lines.filter((line) => line.includes(secret)).map((line) => `${way}: ${line}`),
    );
    expect(leaks).toEqual([]);
  });

  it('warns of nothing and reports no failure for requests that were answered as meant', () => {
    // Level 40 and up: warnings and errors (a reply sent twice was logged as both, URL and all).
    expect(lines.filter((line) => /"level":[4-6]0\b/.test(line))).toEqual([]);
  });
});
