// Property-based requests for every operation of the OpenAPI document: path parameters (ids that
// exist, random strings, uuids), query parameters and JSON bodies generated with fast-check from
// the operation's own schemas — mostly valid, often mutated (wrong types, missing and extra
// fields, huge and odd strings, NUL characters, deep nesting, numbers out of range, bodies that
// are not JSON) — with an admin's token, other tokens or none. Whatever is sent, the server
// answers no 5xx, every error is a problem body in the contract's shape, and every success
// validates against the operation's response schema.
import { createHash } from 'node:crypto';
import { STATUS_TITLES } from '@personas/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerDatabase, serverDatabase } from './support/database';
import { ADMIN, adminEnv, PASSWORD, TEA_GUIDE } from './support/fixtures';
import {
  type Answer,
  type OpenApiDocument,
  type OpenApiOperation,
  openApiValidator,
} from './support/openapi-validator';
import { rest, sseFrames } from './support/rest';
import {
  type Hints,
  type Mutation,
  mutatedJson,
  mutationArbitrary,
  RAW_BODIES,
  schemaArbitrary,
} from './support/schema-arbitrary';
import { type ServerProcess, startServerProcess } from './support/server-process';

/** Printed, and taken from `FUZZ_SEED` when set: a failure is replayed with the same seed. */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_501);
/** Requests per operation (at least 100; `FUZZ_RUNS` raises it for a longer hunt). */
const RUNS = Math.max(100, Number(process.env.FUZZ_RUNS ?? 100));
/** Requests in flight at once: enough to interleave, modest on a 2-core machine. */
const CONCURRENCY = 4;
/** Every request is bounded; a hang is reported as a failure, not waited for. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Small limits, so that a body over them is cheap to send. */
const BODY_LIMIT_BYTES = 65_536;

type Schema = Record<string, unknown>;
type Auth = 'admin' | 'api-key' | 'user' | 'none' | 'garbage';

/** One generated request, before the ids and tokens of the run are filled in. */
interface FuzzCase {
  auth: Auth;
  /** For `garbage`: the Authorization header sent. */
  authorization: string;
  path: Record<string, string>;
  query: [string, string][];
  idempotencyKey: string | null;
  /** `json` is serialised (after its mutation); `raw` is sent as it is; `none` sends no body. */
  body:
    | { kind: 'json'; value: unknown; mutation: Mutation }
    | { kind: 'raw'; text: string }
    | { kind: 'none' };
  contentType: string | null;
}

/** What a fixture world holds, by the name of the path parameter (or body field) taking it. */
type Existing = Record<string, string[]>;

const ERROR_KEYS = ['type', 'title', 'status', 'detail', 'code'];

let db: ServerDatabase;
let server: ServerProcess;
let doc: OpenApiDocument;
let problems: ReturnType<typeof openApiValidator>;
let errorCodes: string[];
const tokens = { admin: '', apiKey: '', user: '', adminId: '' };

async function ok<T>(answer: Promise<{ status: number; body: unknown }>, what: string): Promise<T> {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`${what}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  return body as T;
}

async function login(): Promise<string> {
  const body = await ok<{ token: string }>(
    rest(server.url, { method: 'POST', path: '/auth/login', body: ADMIN }),
    'admin login',
  );
  return body.token;
}

let worlds = 0;

/**
 * Fresh things for one operation's requests to find, change and delete: a user, an API key, a
 * collection with a document, a persona reading it and a conversation with that persona. The
 * operation may destroy them; the next one gets its own.
 */
async function makeWorld(): Promise<Existing> {
  worlds += 1;
  const tag = `${worlds}-${Date.now().toString(36)}`;
  const as = (method: 'POST' | 'GET', path: string, body?: unknown) =>
    rest(server.url, { method, path, token: tokens.admin, body });
  const email = `victim-${tag}@example.com`;
  const user = await ok<{ user_id: string }>(
    rest(server.url, {
      method: 'POST',
      path: '/auth/register',
      body: { email, password: PASSWORD },
    }),
    'register',
  );
  const key = await ok<{ api_key_id: string }>(
    as('POST', '/auth/api-keys', { name: `victim ${tag}` }),
    'api key',
  );
  const name = `fuzz-${tag}`;
  await ok(as('POST', '/collections', { name, visibility: 'shared' }), 'collection');
  const document = await ok<{ document_id: string }>(
    as('POST', `/collections/${name}/documents`, TEA_GUIDE),
    'document',
  );
  const persona = await ok<{ persona_id: string }>(
    as('POST', '/personas/build', {
      persona_name: `Fuzz ${tag}`,
      rag: { db_collections: [name] },
    }),
    'persona',
  );
  const chat = await ok<{ message_history_id: string }>(
    as('POST', `/personas/${persona.persona_id}/chat`, { content: 'How is green tea brewed?' }),
    'chat',
  );
  return {
    user_id: [user.user_id, tokens.adminId],
    api_key_id: [key.api_key_id],
    name: [name],
    document_id: [document.document_id],
    persona_id: [persona.persona_id],
    id: [chat.message_history_id],
    email: [email],
    // Query parameters naming a user (`GET /usage?user_id`, `GET /audit?actor_id`).
    actor_id: [tokens.adminId, user.user_id],
  };
}

beforeAll(async () => {
  db = await serverDatabase();
  server = await startServerProcess({
    ...adminEnv(),
    ...db.env,
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    DOCUMENT_LIMIT_BYTES: String(BODY_LIMIT_BYTES / 2),
    // The generated requests chat and fail logins by the hundred; limits are tested elsewhere.
    CHAT_RATE_LIMIT_PER_MINUTE: '1000000',
    LOGIN_MAX_FAILURES: '1000000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
    REGISTER_MAX_PER_ADDRESS: '1000000',
  });
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDocument;
  problems = openApiValidator(doc);
  const error = doc.components.schemas.Error as { properties: { code: { enum: string[] } } };
  errorCodes = error.properties.code.enum;
  tokens.admin = await login();
  tokens.adminId = (
    await ok<{ user_id: string }>(
      rest(server.url, { method: 'GET', path: '/auth/me', token: tokens.admin }),
      'me',
    )
  ).user_id;
  tokens.apiKey = (
    await ok<{ key: string }>(
      rest(server.url, {
        method: 'POST',
        path: '/auth/api-keys',
        token: tokens.admin,
        body: { name: 'fuzz' },
      }),
      'api key',
    )
  ).key;
  tokens.user = (
    await ok<{ token: string }>(
      rest(server.url, {
        method: 'POST',
        path: '/auth/register',
        body: { email: 'plain-user@example.com', password: PASSWORD },
      }),
      'register',
    )
  ).token;
  console.log(`openapi-fuzz: seed ${SEED}, ${RUNS} requests per operation (FUZZ_SEED replays)`);
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await db?.[Symbol.asyncDispose]();
});

const resolve = (ref: string): Schema => {
  const name = ref.replace('#/components/schemas/', '');
  const found = doc.components.schemas[name];
  if (!found) throw new Error(`Unresolved ${ref}`);
  return found;
};

/** Path parameter values: mostly ids that exist, otherwise anything a client might put there. */
function pathValue(existing: string[]): fc.Arbitrary<string> {
  const odd = [
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '67890',
    'user123',
    '%',
    '\u0000',
    'a\u0000b',
    ' ',
    'a/b',
    '?x=1',
    '#',
    'x'.repeat(101),
    'x'.repeat(5_000),
    '🍵',
    "'; drop table personas; --",
  ];
  return (
    fc
      .oneof(
        { weight: 8, arbitrary: fc.constantFrom(...existing) },
        { weight: 1, arbitrary: fc.constantFrom(...existing).map((id) => id.toUpperCase()) },
        { weight: 2, arbitrary: fc.uuid() },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
        { weight: 2, arbitrary: fc.constantFrom(...odd) },
      )
      // A URL client resolves `.` and `..` segments before sending: they would name another route.
      .filter((v) => v !== '.' && v !== '..')
  );
}

/** A query parameter's value: valid for its schema, or text it should refuse. */
function queryValue(schema: Schema, known: string[] = []): fc.Arbitrary<string> {
  const odd = ['', ' ', '-1', '0', '201', '1e1', '0x10', '1.5', '5 ', 'abc', 'null', '\u0000'];
  const valid = schemaArbitrary(schema, resolve).map(String);
  return fc.oneof(
    { weight: 4, arbitrary: known.length > 0 ? fc.oneof(fc.constantFrom(...known), valid) : valid },
    { weight: 2, arbitrary: fc.constantFrom(...odd) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(3_000)) },
  );
}

/** Authorization headers that are no valid credential, or barely so. */
const GARBAGE_AUTHORIZATION = [
  'Bearer',
  'Bearer ',
  'Bearer nonsense',
  'Basic YWRtaW46YWRtaW4=',
  'Token abc',
  'Bearer pk_',
  'Bearer pk_00000000.deadbeef',
  `Bearer ${'a'.repeat(10_000)}`,
  `Bearer ${'a'.repeat(40_000)}`,
  'Bearer é',
];

function caseArbitrary(operation: OpenApiOperation, existing: Existing): fc.Arbitrary<FuzzCase> {
  const parameters = operation.parameters ?? [];
  const pathParams = parameters.filter((p) => p.in === 'path');
  const queryParams = parameters.filter((p) => p.in === 'query') as {
    name: string;
    schema?: Schema;
  }[];
  const takesKey = parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key');
  const bodySchema = operation.requestBody?.content['application/json']?.schema;

  const path = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [p.name, pathValue(existing[p.name] ?? ['no-fixture'])]),
    ),
  );
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(
          queryValue(p.schema ?? {}, existing[p.name]).map((v): [string, string] => [p.name, v]),
          { freq: 2 },
        ),
      ),
      // Now and then an unknown parameter, or a known one twice.
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<[string, string]>(
            ['unknown', '1'],
            ['limit', '5'],
            ['cursor', 'eyJ4IjoxfQ'],
            ['__proto__', 'x'],
          ),
        },
      ),
    )
    .map((pairs) => pairs.filter((p): p is [string, string] => p !== null));
  const idempotencyKey = takesKey
    ? fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: fc.stringMatching(/^[\x21-\x7E]{1,40}$/) },
        { weight: 1, arbitrary: fc.constantFrom('', ' x', 'a b', 'x'.repeat(256), 'clé') },
      )
    : fc.constant(null);
  // Body fields that name things: the world's own, more often than not.
  const hints: Hints = {
    db_collections: existing.name ?? [],
    message_history_id: existing.id ?? [],
    creator_id: existing.user_id ?? [],
    persona_ids: existing.persona_id ?? [],
    email: existing.email ?? [],
    password: [PASSWORD],
  };
  const jsonBody = bodySchema
    ? fc
        .tuple(schemaArbitrary(bodySchema, resolve, hints), mutationArbitrary)
        .map(([value, mutation]) => ({ kind: 'json' as const, value, mutation }))
    : fc.constant({ kind: 'none' as const });
  const body = fc.oneof(
    { weight: 12, arbitrary: jsonBody },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...RAW_BODIES)
        .map((text) => ({ kind: 'raw' as const, text }) as FuzzCase['body']),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
  const contentType = fc.oneof(
    { weight: 20, arbitrary: fc.constant('application/json') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
      ),
    },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const auth = fc.oneof(
    { weight: 14, arbitrary: fc.constant<Auth>('admin') },
    { weight: 2, arbitrary: fc.constant<Auth>('api-key') },
    { weight: 1, arbitrary: fc.constant<Auth>('user') },
    { weight: 2, arbitrary: fc.constant<Auth>('none') },
    { weight: 1, arbitrary: fc.constant<Auth>('garbage') },
  );
  return fc.record({
    auth,
    authorization: fc.constantFrom(...GARBAGE_AUTHORIZATION),
    path,
    query,
    idempotencyKey,
    body,
    contentType,
  });
}

function bodyText(c: FuzzCase): string | undefined {
  if (c.body.kind === 'none') return undefined;
  if (c.body.kind === 'raw') return c.body.text;
  return mutatedJson(c.body.value, c.body.mutation);
}

/** The request as a line a person can replay by hand (long values shortened). */
function describeCase(method: string, target: string, c: FuzzCase, body?: string): string {
  const cut = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…(${s.length})` : s);
  const mutation = c.body.kind === 'json' ? ` mutation=${JSON.stringify(c.body.mutation)}` : '';
  return (
    `${method} ${cut(target)} auth=${c.auth} content-type=${c.contentType}` +
    `${c.idempotencyKey === null ? '' : ` idempotency-key=${cut(JSON.stringify(c.idempotencyKey))}`}` +
    `${mutation.length > 300 ? `${mutation.slice(0, 300)}…` : mutation} body=${cut(JSON.stringify(body ?? null))}`
  );
}

async function send(
  method: string,
  path: string,
  c: FuzzCase,
): Promise<{ answer: Answer | null; request: string; sentBody: boolean; error?: string }> {
  let filled = path;
  for (const [name, value] of Object.entries(c.path)) {
    filled = filled.replace(`{${name}}`, encodeURIComponent(value));
  }
  const qs = new URLSearchParams(c.query).toString();
  const target = `${server.url}/api${filled}${qs ? `?${qs}` : ''}`;
  const headers: Record<string, string> = {};
  if (c.auth === 'garbage') headers.authorization = c.authorization;
  else if (c.auth !== 'none') {
    // Logging out ends the session: an admin's logout gets a session of its own.
    const token =
      c.auth === 'admin' && path === '/auth/logout'
        ? await login()
        : { admin: tokens.admin, 'api-key': tokens.apiKey, user: tokens.user }[c.auth];
    headers.authorization = `Bearer ${token}`;
  }
  if (c.idempotencyKey !== null) headers['idempotency-key'] = c.idempotencyKey;
  // fetch refuses a body on GET and HEAD.
  const body = method === 'GET' ? undefined : bodyText(c);
  if (body !== undefined && c.contentType !== null) headers['content-type'] = c.contentType;
  const request = describeCase(method, `${filled}${qs ? `?${qs}` : ''}`, c, body);
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = String((error as Error).cause ?? error);
    return { answer: null, request, sentBody: body !== undefined, error: cause };
  }
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const text = await response.text();
  let parsed: unknown = text;
  try {
    if (mediaType === 'application/json' || mediaType === 'application/problem+json') {
      parsed = JSON.parse(text);
    }
    if (mediaType === 'text/event-stream') parsed = sseFrames(text);
  } catch {
    // Left as text: the checks below report a body that is not what its type says.
  }
  const answer = { status: response.status, headers: response.headers, mediaType, body: parsed };
  return { answer, request, sentBody: body !== undefined };
}

/**
 * Statuses the host answers on any route, before a procedure runs, stated once in the document's
 * description rather than on each operation: headers too large or too slow (431, 408).
 */
const HOST_STATUSES = [408, 431];

/** What is wrong with one answer, by the contract; empty when nothing is. */
function judge(method: string, path: string, answer: Answer, sentBody: boolean): string[] {
  const wrong: string[] = [];
  if (answer.status >= 500) wrong.push(`a ${answer.status}`);
  if (answer.status < 200 || (answer.status >= 300 && answer.status < 400)) {
    wrong.push(`an unexpected ${answer.status}`);
  }
  if (answer.status >= 400) {
    if (answer.mediaType !== 'application/problem+json') {
      wrong.push(`error as ${answer.mediaType || 'no content type'}, not application/problem+json`);
    }
    const body = answer.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object') wrong.push('error body is not a JSON object');
    else {
      const missing = ERROR_KEYS.filter((k) => !(k in body));
      if (missing.length > 0) wrong.push(`error body lacks ${missing.join(', ')}`);
      if (body.status !== answer.status) wrong.push(`body status ${body.status}`);
      if (!errorCodes.includes(body.code as string)) wrong.push(`code ${body.code} not enumerated`);
      if (body.title !== STATUS_TITLES[answer.status]) wrong.push(`title ${body.title}`);
      if (typeof body.detail !== 'string' || body.detail === '') wrong.push('empty detail');
      if (/\n\s+at |node_modules|apps\/server\//.test(JSON.stringify(body))) {
        wrong.push('a stack trace or file path in the body');
      }
    }
  }
  if (answer.mediaType === 'text/event-stream') {
    for (const frame of answer.body as { event: string; data: { code?: string } }[]) {
      if (frame.event === 'error' && frame.data?.code === 'INTERNAL_SERVER_ERROR') {
        wrong.push('an INTERNAL_SERVER_ERROR event in the stream');
      }
    }
  }
  // The document's own judgement: the status documented, the body valid for it. A body sent to
  // an operation that takes none meets the host's body rules, which the document states once
  // for all routes: 415 for a media type other than JSON, 413 above the limit.
  const operation = doc.paths[path]?.[method.toLowerCase()];
  const hostWide =
    HOST_STATUSES.includes(answer.status) ||
    (sentBody && !operation?.requestBody && [413, 415].includes(answer.status));
  if (!hostWide) wrong.push(...problems(method, path, answer));
  return wrong;
}

/** Runs `tasks` with at most `limit` at once. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next;
      next += 1;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** A seed per operation, stable when operations are added or reordered. */
function seedOf(op: string): number {
  return (SEED ^ createHash('sha256').update(op).digest().readInt32BE(0)) | 0;
}

describe('generated requests against every operation of the document', () => {
  it(`answers ${RUNS} requests per operation with no 5xx, errors as problem details and successes as documented`, async () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, spec]) => ({ method: method.toUpperCase(), path, spec })),
    );
    expect(operations.length).toBeGreaterThan(20);
    const failures: string[] = [];
    const summary: string[] = [];
    for (const { method, path, spec } of operations) {
      const op = `${method} ${path}`;
      const existing = await makeWorld();
      const cases = fc.sample(caseArbitrary(spec, existing), { seed: seedOf(op), numRuns: RUNS });
      const results = await pool(
        cases.map((c) => () => send(method, path, c)),
        CONCURRENCY,
      );
      const byStatus: Record<string, number> = {};
      const seen = new Set<string>();
      for (const { answer, request, sentBody, error } of results) {
        const wrong = answer ? judge(method, path, answer, sentBody) : [`no answer: ${error}`];
        const status = answer?.status ?? 'none';
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (wrong.length === 0) continue;
        // One example of each kind of failure per operation is enough to act on.
        const signature = `${status} ${wrong.map((w) => w.slice(0, 60)).join('; ')}`;
        if (seen.has(signature)) continue;
        seen.add(signature);
        const body = JSON.stringify(answer?.body ?? null).slice(0, 400);
        failures.push(`${op} → ${status}: ${wrong.join('; ')}\n    ${request}\n    ← ${body}`);
      }
      summary.push(`${op}: ${JSON.stringify(byStatus)}`);
      expect(results.length, op).toBeGreaterThanOrEqual(100);
    }
    console.log(`openapi-fuzz (seed ${SEED}):\n  ${summary.join('\n  ')}`);
    expect(failures, `seed ${SEED}`).toEqual([]);
    // Nor did any request make the server log an error (a failure turned into some other
    // answer, a reply sent twice): nothing at level 50 or above.
    const errors = server
      .output()
      .split('\n')
      .filter((line) => /"level":(5|6)\d/.test(line));
    expect(errors.map((line) => line.slice(0, 500))).toEqual([]);
  }, 600_000);
});
