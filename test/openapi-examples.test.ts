// Every request example of the OpenAPI document, sent as written to a fresh server in an order
// that makes each succeed (the ids of what earlier answers made fill the path), and every answer
// — the successes and the errors provoked after them — validated against the document's schemas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerDatabase, serverDatabase } from './support/database';
import { bodyExample, documentedUrl, sendRequest as send } from './support/documented-requests';
import { ADMIN, adminEnv } from './support/fixtures';
import {
  type Answer,
  type OpenApiDocument,
  type OpenApiOperation,
  openApiValidator,
} from './support/openapi-validator';
import { type ServerProcess, startServerProcess } from './support/server-process';

const BODY_LIMIT_BYTES = 65_536;

type Caller = 'nobody' | 'ada' | 'admin';

/** What earlier answers made, by the name of the path parameter that takes it. */
const ids: Record<string, string> = {};
const tokens: Record<Caller, string | undefined> = { nobody: undefined, ada: '', admin: '' };

/**
 * The walk through every operation, in an order a person could follow in /docs: Ada registers
 * and logs in, an admin makes her a builder, she builds a collection and a persona, chats with
 * it, then takes everything down again. `keep` takes the ids the later paths need.
 */
const WALK: {
  op: string;
  as: Caller;
  keep?: (body: Record<string, unknown>) => void;
  /** The documented answer expected, when not a 200 (retrying a ready document is a 409). */
  status?: number;
}[] = [
  { op: 'GET /system/info', as: 'nobody' },
  {
    op: 'POST /auth/register',
    as: 'nobody',
    keep: (b) => {
      ids.user_id = String(b.user_id);
      tokens.ada = String(b.token);
    },
  },
  { op: 'POST /auth/login', as: 'nobody', keep: (b) => (tokens.ada = String(b.token)) },
  { op: 'GET /auth/me', as: 'ada' },
  { op: 'POST /auth/api-keys', as: 'ada', keep: (b) => (ids.api_key_id = String(b.api_key_id)) },
  { op: 'GET /auth/api-keys', as: 'ada' },
  { op: 'GET /users', as: 'admin' },
  { op: 'PUT /users/{user_id}/role', as: 'admin' },
  { op: 'PUT /users/{user_id}/quota', as: 'admin' },
  { op: 'POST /collections', as: 'ada' },
  { op: 'GET /collections', as: 'ada' },
  { op: 'GET /collections/{name}', as: 'ada' },
  {
    op: 'POST /collections/{name}/documents',
    as: 'ada',
    keep: (b) => (ids.document_id = String(b.document_id)),
  },
  { op: 'GET /collections/{name}/documents', as: 'ada' },
  { op: 'GET /collections/{name}/documents/{document_id}', as: 'ada' },
  { op: 'POST /collections/{name}/documents/{document_id}/retry', as: 'ada', status: 409 },
  { op: 'POST /collections/{name}/search', as: 'ada' },
  { op: 'POST /personas/build', as: 'ada', keep: (b) => (ids.persona_id = String(b.persona_id)) },
  { op: 'GET /personas', as: 'ada' },
  { op: 'GET /personas/owned', as: 'ada' },
  { op: 'GET /personas/{persona_id}', as: 'ada' },
  { op: 'PUT /personas/build/{persona_id}', as: 'ada' },
  {
    op: 'POST /personas/{persona_id}/chat',
    as: 'ada',
    keep: (b) => (ids.id = String(b.message_history_id)),
  },
  { op: 'POST /personas/{persona_id}/chat/stream', as: 'ada' },
  { op: 'GET /personas/{persona_id}/message_history', as: 'ada' },
  { op: 'GET /message_histories/{id}', as: 'ada' },
  { op: 'GET /message_histories/{id}/messages', as: 'ada' },
  { op: 'GET /usage', as: 'ada' },
  { op: 'GET /audit', as: 'admin' },
  { op: 'PATCH /message_histories/{id}', as: 'ada' },
  { op: 'DELETE /message_histories/{id}', as: 'ada' },
  { op: 'DELETE /collections/{name}/documents/{document_id}', as: 'ada' },
  { op: 'DELETE /personas/build/{persona_id}', as: 'ada' },
  { op: 'DELETE /collections/{name}', as: 'ada' },
  { op: 'DELETE /auth/api-keys/{api_key_id}', as: 'ada' },
  { op: 'POST /auth/logout', as: 'ada' },
  { op: 'DELETE /users/{user_id}', as: 'admin' },
];

let db: ServerDatabase;
let server: ServerProcess;
let doc: OpenApiDocument;
let problems: ReturnType<typeof openApiValidator>;

beforeAll(async () => {
  db = await serverDatabase();
  server = await startServerProcess({
    ...adminEnv(),
    ...db.env,
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    // Document uploads have their own, larger limit (twice this, plus room for the fields).
    DOCUMENT_LIMIT_BYTES: String(BODY_LIMIT_BYTES / 2),
  });
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDocument;
  problems = openApiValidator(doc);
  // The bootstrap admin (ADMIN_EMAIL) promotes Ada; it is set up, not an example.
  const login = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  expect(login.status).toBe(200);
  tokens.admin = ((await login.json()) as { token: string }).token;
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await db?.[Symbol.asyncDispose]();
});

function operation(op: string): { method: string; path: string; spec: OpenApiOperation } {
  const [method = '', path = ''] = op.split(' ');
  const spec = doc.paths[path]?.[method.toLowerCase()];
  if (!spec) throw new Error(`${op} is not in the document`);
  return { method, path, spec };
}

/** The path with each parameter from `values` or its documented example, and the query string. */
const url = (path: string, spec: OpenApiOperation, values: Record<string, string>) =>
  documentedUrl(server.url, path, spec, values);

describe('the documented examples against a fresh server', () => {
  it('covers every documented operation, and every body and parameter has an example', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(WALK.map((s) => s.op).sort()).toEqual(documented.sort());
    const missing: string[] = [];
    for (const op of documented) {
      const { spec } = operation(op);
      if (spec.requestBody?.required && bodyExample(spec) === undefined) missing.push(`${op} body`);
      for (const p of spec.parameters ?? []) {
        if (p.required && p.example === undefined) missing.push(`${op} ${p.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has a validator that refuses what the document does not say', () => {
    const answer = (status: number, body: unknown, headers = new Headers()): Answer => ({
      status,
      headers,
      mediaType: status >= 400 ? 'application/problem+json' : 'application/json',
      body,
    });
    const problem = (status: number, title: string, code: string, detail: string) => ({
      type: 'about:blank',
      title,
      status,
      detail,
      code,
    });
    expect(problems('GET', '/system/info', answer(200, { name: 'personas' }))).not.toEqual([]);
    expect(problems('GET', '/system/info', answer(418, {}))).toEqual([
      'status 418 is not documented',
    ]);
    const tooMany = answer(429, problem(429, 'Too Many Requests', 'TOO_MANY_REQUESTS', 'Slow'));
    expect(problems('POST', '/auth/login', tooMany)).toEqual(['header Retry-After is missing']);
    const unknownCode = answer(404, problem(404, 'Not Found', 'GONE', 'Gone'));
    expect(problems('GET', '/personas/{persona_id}', unknownCode)).not.toEqual([]);
  });

  it('answers each example as documented, in order, from register to deleting the account', async () => {
    const wrong: string[] = [];
    for (const step of WALK) {
      const { method, path, spec } = operation(step.op);
      const example = bodyExample(spec);
      const answer = await send(method, url(path, spec, ids), {
        token: tokens[step.as],
        body: example === undefined ? undefined : JSON.stringify(example),
      });
      const expected = step.status ?? 200;
      const found =
        answer.status === expected ? problems(method, path, answer) : [`not a ${expected}`];
      if (found.length > 0) {
        wrong.push(
          `${step.op} → ${answer.status}: ${found.join('; ')} ${JSON.stringify(answer.body).slice(0, 300)}`,
        );
        continue;
      }
      if (answer.mediaType === 'text/event-stream') {
        const events = (answer.body as { event: string }[]).map((f) => f.event);
        expect(events[0], step.op).toBe('meta');
        expect(events.at(-1), step.op).toBe('done');
      }
      step.keep?.(answer.body as Record<string, unknown>);
    }
    expect(wrong).toEqual([]);
  });

  it('answers errors as documented: no token, unknown ids, malformed, foreign and oversized bodies', async () => {
    const unknown = {
      persona_id: '00000000-0000-4000-8000-000000000000',
      document_id: '00000000-0000-4000-8000-000000000000',
      id: '00000000-0000-4000-8000-000000000000',
      user_id: '00000000-0000-4000-8000-000000000000',
      api_key_id: '00000000-0000-4000-8000-000000000000',
      name: 'no-such-collection',
    };
    const wrong: string[] = [];
    let checked = 0;
    const check = async (op: string, expected: number | 'documented', answer: Answer) => {
      const { method, path } = operation(op);
      checked += 1;
      const found = problems(method, path, answer);
      if (expected !== 'documented' && answer.status !== expected) found.push(`not a ${expected}`);
      if (answer.status < 400) found.push('not an error');
      if (found.length > 0) wrong.push(`${op} → ${answer.status}: ${found.join('; ')}`);
    };
    for (const { op } of WALK) {
      const { method, path, spec } = operation(op);
      const example = bodyExample(spec);
      const body = example === undefined ? undefined : JSON.stringify(example);
      if ((spec.security ?? []).length > 0) {
        await check(op, 401, await send(method, url(path, spec, unknown), { body }));
      }
      if ((spec.parameters ?? []).some((p) => p.in === 'path')) {
        const token = tokens.admin;
        await check(
          op,
          'documented',
          await send(method, url(path, spec, unknown), { token, body }),
        );
      }
      if (spec.requestBody) {
        const target = url(path, spec, unknown);
        const token = tokens.admin;
        await check(op, 400, await send(method, target, { token, body: '{"unclosed": ' }));
        await check(
          op,
          415,
          await send(method, target, { token, contentType: 'application/xml', body: '<hi/>' }),
        );
        const big = JSON.stringify({ content: 'x'.repeat(BODY_LIMIT_BYTES * 4) });
        await check(op, 413, await send(method, target, { token, body: big }));
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(WALK.length);
  });
});
