import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type ChatStreamEvent,
  type ChatStreamInput,
  createPersonasClient,
  type PersonasClient,
  PersonasError,
  type PersonasErrorCode,
  type RouterInputs,
  type RouterOutputs,
} from '@personas/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../apps/server/src/test-support/rejection';
import { type ServerDatabase, serverDatabase } from './support/database';
import {
  ADMIN,
  adminEnv,
  COFFEE_NOTES,
  FOLLOW_UP,
  OFF_TOPIC,
  PASSWORD,
  PERSONA,
  QUESTION,
  TEA_GUIDE,
} from './support/fixtures';
import { type RestAnswer, type RestCall, restAs, restStream, type SseEvent } from './support/rest';
import { type ServerProcess, startServerProcess } from './support/server-process';

type In = RouterInputs;
type Out = RouterOutputs;

/** Everything one walk through the product produced, step by step. */
interface Walk {
  who: string;
  token: string;
  registered: Out['auth']['register'];
  promoted: Out['users']['setRole'];
  me: Out['auth']['me'];
  created: Out['collections']['create'];
  added: Out['collections']['addDocument'][];
  documents: Out['collections']['listDocuments'];
  collection: Out['collections']['get'];
  search: Out['collections']['search'];
  built: Out['personas']['build'];
  persona: Out['personas']['get'];
  owned: Out['personas']['owned'];
  chat: Out['chat']['send'];
  offTopic: Out['chat']['send'];
  stream: ChatStreamEvent[];
  histories: Out['chat']['personaHistories'];
  history: Out['chat']['getHistory'];
}

/** One error as either transport reports it. */
interface ErrorView {
  status: number;
  code: string;
  detail: string;
  issues?: unknown;
}

let db: ServerDatabase;
let server: ServerProcess;
let url: string;
let admin: PersonasClient;
let adminToken: string;
const walks: { sdk?: Walk; rest?: Walk } = {};

beforeAll(async () => {
  db = await serverDatabase();
  server = await startServerProcess({ ...adminEnv(), ...db.env });
  url = server.url;
  const session = await createPersonasClient({ url }).auth.login.mutate(ADMIN);
  adminToken = session.token;
  admin = createPersonasClient({ url, token: adminToken });
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await db?.[Symbol.asyncDispose]();
});

async function collect<T>(events: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const event of events) all.push(event);
  return all;
}

async function caught(promise: Promise<unknown>): Promise<PersonasError> {
  const error = await rejectionOf(promise);
  if (error instanceof PersonasError) return error;
  throw error;
}

const sdkError = async (call: Promise<unknown>): Promise<ErrorView> => {
  const e = await caught(call);
  return e.issues
    ? { status: e.status, code: e.code, detail: e.detail, issues: e.issues }
    : { status: e.status, code: e.code, detail: e.detail };
};

/** The fields a PersonasError carries, out of a REST problem body. */
const restError = (answer: RestAnswer): ErrorView => {
  const { code, detail, issues } = answer.body as ErrorView;
  return issues
    ? { status: answer.status, code, detail, issues }
    : { status: answer.status, code, detail };
};

/** Ids, times, tokens and the walker's name differ between two walks; nothing else may. */
function comparable(value: unknown, walk: Walk): unknown {
  const text = JSON.stringify(value)
    .replaceAll(walk.token, '<token>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g, '<time>')
    .replaceAll(walk.who, '<who>');
  return JSON.parse(text);
}

/** One REST answer's body, after checking its status. */
function ok<T>(answer: RestAnswer<T>): T {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

/** The calls of the walk, as one transport makes them for the holder of a token. */
interface Transport {
  register(input: In['auth']['register']): Promise<Out['auth']['register']>;
  setRole(input: In['users']['setRole']): Promise<Out['users']['setRole']>;
  me(): Promise<Out['auth']['me']>;
  createCollection(input: In['collections']['create']): Promise<Out['collections']['create']>;
  addDocument(input: In['collections']['addDocument']): Promise<Out['collections']['addDocument']>;
  listDocuments(
    input: In['collections']['listDocuments'],
  ): Promise<Out['collections']['listDocuments']>;
  getCollection(input: In['collections']['get']): Promise<Out['collections']['get']>;
  search(input: In['collections']['search']): Promise<Out['collections']['search']>;
  buildPersona(input: In['personas']['build']): Promise<Out['personas']['build']>;
  getPersona(input: In['personas']['get']): Promise<Out['personas']['get']>;
  ownedPersonas(): Promise<Out['personas']['owned']>;
  chat(input: In['chat']['send']): Promise<Out['chat']['send']>;
  chatStream(personaId: string, input: ChatStreamInput): Promise<ChatStreamEvent[]>;
  personaHistories(input: In['chat']['personaHistories']): Promise<Out['chat']['personaHistories']>;
  getHistory(input: In['chat']['getHistory']): Promise<Out['chat']['getHistory']>;
}
type TransportFor = (token?: string) => Transport;

const viaSdk: TransportFor = (token) => {
  const client = createPersonasClient({ url, token });
  return {
    register: (input) => client.auth.register.mutate(input),
    setRole: (input) => client.users.setRole.mutate(input),
    me: () => client.auth.me.query(),
    createCollection: (input) => client.collections.create.mutate(input),
    addDocument: (input) => client.collections.addDocument.mutate(input),
    listDocuments: (input) => client.collections.listDocuments.query(input),
    getCollection: (input) => client.collections.get.query(input),
    search: (input) => client.collections.search.mutate(input),
    buildPersona: (input) => client.personas.build.mutate(input),
    getPersona: (input) => client.personas.get.query(input),
    ownedPersonas: () => client.personas.owned.query(),
    chat: (input) => client.chat.send.mutate(input),
    chatStream: (personaId, input) => collect(client.chatStream(personaId, input)),
    personaHistories: (input) => client.chat.personaHistories.query(input),
    getHistory: (input) => client.chat.getHistory.query(input),
  };
};

/** Plain fetch against the documented routes; a refusal is thrown as the SDK would throw it. */
const viaRest: TransportFor = (token) => {
  const call = restAs(url, token);
  const send = async <T>(method: RestCall['method'], path: string, body?: unknown) => {
    const answer = await call<T>(method, path, body);
    if (answer.status === 200) return answer.body;
    const { code, detail } = answer.body as unknown as { code: PersonasErrorCode; detail: string };
    throw new PersonasError(answer.status, code, detail);
  };
  return {
    register: (input) => send('POST', '/auth/register', input),
    setRole: ({ user_id, ...body }) => send('PUT', `/users/${user_id}/role`, body),
    me: () => send('GET', '/auth/me'),
    createCollection: (input) => send('POST', '/collections', input),
    addDocument: ({ name, ...document }) =>
      send('POST', `/collections/${name}/documents`, document),
    listDocuments: ({ name }) => send('GET', `/collections/${name}/documents`),
    getCollection: ({ name }) => send('GET', `/collections/${name}`),
    search: ({ name, ...body }) => send('POST', `/collections/${name}/search`, body),
    buildPersona: (input) => send('POST', '/personas/build', input),
    getPersona: ({ persona_id }) => send('GET', `/personas/${persona_id}`),
    ownedPersonas: () => send('GET', '/personas/owned'),
    chat: ({ persona_id, ...body }) => send('POST', `/personas/${persona_id}/chat`, body),
    chatStream: async (personaId, input) => {
      const streamed = await restStream(url, `/personas/${personaId}/chat/stream`, token!, input);
      expect(streamed.status).toBe(200);
      expect(streamed.contentType).toMatch(/^text\/event-stream/);
      return streamed.events.map(
        (e: SseEvent) => ({ ...(e.data as object), type: e.event }) as ChatStreamEvent,
      );
    },
    personaHistories: ({ persona_id }) => send('GET', `/personas/${persona_id}/message_history`),
    getHistory: ({ id }) => send('GET', `/message_histories/${id}`),
  };
};

/** One walk through the product, every call made through `as`. */
async function walk(who: string, as: TransportFor): Promise<Walk> {
  const registered = await as().register({
    email: `${who}@example.com`,
    password: PASSWORD,
    name: who,
  });
  const early = as(registered.token).createCollection({ name: `${who}-early` });
  expect((await caught(early)).status).toBe(403);

  const promoted = await as(adminToken).setRole({ user_id: registered.user_id, role: 'builder' });
  // The same token: a role change counts from the user's next request.
  const call = as(registered.token);
  const me = await call.me();
  const name = `${who}-handbook`;
  const created = await call.createCollection({ name, description: 'Brewing guides' });
  const added = [
    await call.addDocument({ name, ...TEA_GUIDE }),
    await call.addDocument({ name, ...COFFEE_NOTES }),
  ];
  const documents = await call.listDocuments({ name });
  const collection = await call.getCollection({ name });
  const search = await call.search({ name, query: QUESTION, top_k: 3 });
  const built = await call.buildPersona({ ...PERSONA, rag: { db_collections: [name], top_k: 2 } });
  const persona_id = built.persona_id;
  const persona = await call.getPersona({ persona_id });
  const owned = await call.ownedPersonas();
  const chat = await call.chat({ persona_id, content: QUESTION });
  const offTopic = await call.chat({
    persona_id,
    content: OFF_TOPIC,
    message_history_id: chat.message_history_id,
  });
  const stream = await call.chatStream(persona_id, { content: FOLLOW_UP });
  const histories = await call.personaHistories({ persona_id });
  const history = await call.getHistory({ id: chat.message_history_id });
  return {
    who,
    token: registered.token,
    registered,
    promoted,
    me,
    created,
    added,
    documents,
    collection,
    search,
    built,
    persona,
    owned,
    chat,
    offTopic,
    stream,
    histories,
    history,
  };
}

describe('the product, walked through the SDK and through REST', () => {
  it('walks through the SDK: bootstrap admin, register, promote, knowledge, persona, chat, stream, history', async () => {
    const info = await createPersonasClient({ url }).system.info.query();
    expect(info).toMatchObject({ name: 'personas', database: db.kind, registration: 'open' });
    expect((await admin.auth.me.query()).role).toBe('admin');

    const w = await walk('ada', viaSdk);
    walks.sdk = w;
    expect(w.registered.role).toBe('user');
    expect(w.promoted).toMatchObject({ user_id: w.registered.user_id, role: 'builder' });
    expect(w.me).toMatchObject({ email: 'ada@example.com', name: 'ada', role: 'builder' });
    expect(w.created).toMatchObject({
      name: 'ada-handbook',
      owner_id: w.registered.user_id,
      visibility: 'private',
      documents: 0,
      chunks: 0,
    });
    expect(w.added.map((d) => d.file_name)).toEqual(['tea.md', 'coffee.txt']);
    expect(w.documents.documents.map((d) => d.doc_path).sort()).toEqual([
      'guides/tea.md',
      'notes/coffee.txt',
    ]);
    const chunks = w.added.reduce((n, d) => n + d.chunks, 0);
    expect(w.collection).toMatchObject({ documents: 2, chunks });
    expect(w.search.hits[0]).toMatchObject({ file_name: 'tea.md', success: true });

    expect(w.built).toEqual({
      message: 'Persona created successfully',
      persona_id: expect.any(String),
      persona_name: PERSONA.persona_name,
    });
    expect(w.persona).toMatchObject({
      ...PERSONA,
      persona_id: w.built.persona_id,
      creator_id: w.registered.user_id,
      visibility: 'public',
      rag: {
        db_collections: ['ada-handbook'],
        query_metric: 'cosine',
        query_threshold: 0.3,
        top_k: 2,
      },
    });
    expect(w.owned).toEqual({ [w.built.persona_id]: PERSONA.persona_name });

    // The answer comes from the document: the best hit is typed and passes the threshold.
    const hit = w.chat.rag_hit;
    if (!hit) throw new Error('expected a rag_hit');
    expect(hit).toMatchObject({ file_name: 'tea.md', doc_path: 'guides/tea.md', success: true });
    expect(typeof hit.cosine_similarity).toBe('number');
    expect(typeof hit.euclidean_distance).toBe('number');
    expect(hit.cosine_similarity).toBeGreaterThanOrEqual(w.persona.rag.query_threshold);
    // Normalized vectors: d² = 2 − 2c.
    expect(hit.euclidean_distance ** 2).toBeCloseTo(2 - 2 * hit.cosine_similarity, 6);
    expect(hit.document_string).toContain('Green tea is brewed with water at 80 degrees Celsius');
    expect(w.chat.rag_hits[0]).toEqual(hit);
    expect(w.chat.rag_hits.every((h) => h.success)).toBe(true);
    expect(w.chat.response).toContain('Green tea is brewed with water at 80 degrees Celsius');
    expect(w.chat.usage.completion_tokens).toBeGreaterThan(0);

    // Nothing passes for an off-topic question: the best candidate still says how far it was.
    expect(w.offTopic.message_history_id).toBe(w.chat.message_history_id);
    expect(w.offTopic.rag_hit).toMatchObject({ success: false });
    expect(w.offTopic.rag_hits).toEqual([]);

    // meta → tokens → done, and done.response is the tokens joined.
    const [meta, ...rest] = w.stream;
    const done = rest.at(-1);
    const tokens = rest.slice(0, -1);
    expect(meta).toMatchObject({ type: 'meta', persona_id: w.built.persona_id });
    expect(meta?.type === 'meta' && meta.rag_hit?.success).toBe(true);
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.every((e) => e.type === 'token')).toBe(true);
    expect(done?.type).toBe('done');
    const joined = tokens.map((e) => (e.type === 'token' ? e.text : '')).join('');
    expect(done?.type === 'done' && done.response).toBe(joined);
    expect(joined).toContain('80 degrees Celsius');

    // Two conversations, newest (the streamed one) first, each exchange stored whole.
    const streamedId = meta?.type === 'meta' ? meta.message_history_id : '';
    expect(w.histories.persona_id).toBe(w.built.persona_id);
    expect(w.histories.messages.map((h) => h.id)).toEqual([streamedId, w.chat.message_history_id]);
    expect(w.histories.messages[0]?.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', FOLLOW_UP],
      ['assistant', joined],
    ]);
    expect(w.history).toEqual(w.histories.messages[1]);
    expect(w.history.title).toBe(QUESTION);
    expect(w.history.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', QUESTION],
      ['assistant', w.chat.response],
      ['user', OFF_TOPIC],
      ['assistant', w.offTopic.response],
    ]);
    expect(w.history.messages[1]?.rag_hit).toEqual(hit);

    const client = createPersonasClient({ url, token: w.token });
    const renamed = await client.chat.updateHistory.mutate({
      id: w.chat.message_history_id,
      title: 'Green tea',
    });
    expect(renamed).toEqual({ ...w.history, title: 'Green tea' });
  });

  it('reaches the same results through REST with fetch', async () => {
    const sdk = walks.sdk;
    if (!sdk) throw new Error('the SDK walk did not finish');
    const w = await walk('grace', viaRest);
    walks.rest = w;
    // Step by step, the two walks agree on everything but ids, times and names.
    for (const step of Object.keys(w) as (keyof Walk)[]) {
      if (step === 'who' || step === 'token') continue;
      expect(comparable(w[step], w), step).toEqual(comparable(sdk[step], sdk));
    }
    expect(w.chat.response).toBe(sdk.chat.response);
    // The same passage, each walk's own document.
    expect(comparable(w.chat.rag_hit, w)).toEqual(comparable(sdk.chat.rag_hit, sdk));
  });

  it('reads the same objects identically through both transports', async () => {
    const { sdk, rest } = walks as Required<typeof walks>;
    const ada = createPersonasClient({ url, token: sdk.token });
    const adaRest = restAs(url, sdk.token);
    const grace = createPersonasClient({ url, token: rest.token });
    const graceRest = restAs(url, rest.token);

    expect(ok(await adaRest('GET', `/personas/${sdk.built.persona_id}`))).toEqual(
      await ada.personas.get.query({ persona_id: sdk.built.persona_id }),
    );
    expect(await grace.personas.get.query({ persona_id: rest.built.persona_id })).toEqual(
      ok(await graceRest('GET', `/personas/${rest.built.persona_id}`)),
    );
    expect(ok(await adaRest('GET', `/message_histories/${sdk.chat.message_history_id}`))).toEqual(
      await ada.chat.getHistory.query({ id: sdk.chat.message_history_id }),
    );
    expect(await grace.chat.personaHistories.query({ persona_id: rest.built.persona_id })).toEqual(
      ok(await graceRest('GET', `/personas/${rest.built.persona_id}/message_history`)),
    );
    expect(ok(await graceRest('GET', '/collections/grace-handbook'))).toEqual(
      await grace.collections.get.query({ name: 'grace-handbook' }),
    );
    expect(ok(await adaRest('GET', '/collections/ada-handbook/documents'))).toEqual(
      await ada.collections.listDocuments.query({ name: 'ada-handbook' }),
    );
    expect(ok(await adaRest('GET', '/auth/me'))).toEqual(await ada.auth.me.query());
    expect(ok(await restAs(url, adminToken)('GET', '/users'))).toEqual(
      await admin.users.list.query(),
    );
    // Grace may chat with Ada's public persona and sees the same persona Ada does.
    expect(await grace.personas.get.query({ persona_id: sdk.built.persona_id })).toEqual(
      await ada.personas.get.query({ persona_id: sdk.built.persona_id }),
    );
  });

  it('reports the same errors through both transports', async () => {
    const { sdk } = walks as Required<typeof walks>;
    const ada = createPersonasClient({ url, token: sdk.token });
    const call = restAs(url, sdk.token);
    const missing = randomUUID();

    const pairs: [string, Promise<ErrorView>, Promise<ErrorView>][] = [
      [
        'no token',
        sdkError(createPersonasClient({ url }).auth.me.query()),
        restAs(url)('GET', '/auth/me').then(restError),
      ],
      [
        'unknown persona',
        sdkError(ada.personas.get.query({ persona_id: missing })),
        call('GET', `/personas/${missing}`).then(restError),
      ],
      [
        'empty message',
        sdkError(ada.chat.send.mutate({ persona_id: sdk.built.persona_id, content: '  ' })),
        call('POST', `/personas/${sdk.built.persona_id}/chat`, { content: '  ' }).then(restError),
      ],
      [
        'invalid persona',
        sdkError(ada.personas.build.mutate({ persona_name: '', temperature: 3 })),
        call('POST', '/personas/build', { persona_name: '', temperature: 3 }).then(restError),
      ],
      [
        'name taken',
        sdkError(ada.collections.create.mutate({ name: 'ada-handbook' })),
        call('POST', '/collections', { name: 'ada-handbook' }).then(restError),
      ],
      ['not an admin', sdkError(ada.users.list.query()), call('GET', '/users').then(restError)],
    ];
    const expected: Record<string, Partial<ErrorView>> = {
      'no token': { status: 401, code: 'UNAUTHORIZED' },
      'unknown persona': { status: 404, code: 'NOT_FOUND', detail: 'Persona not found' },
      'empty message': { status: 400, code: 'BAD_REQUEST', detail: 'Message content is required' },
      'invalid persona': { status: 400, code: 'BAD_REQUEST' },
      'name taken': { status: 409, code: 'CONFLICT' },
      'not an admin': { status: 403, code: 'FORBIDDEN' },
    };
    for (const [what, viaSdk, viaRest] of pairs) {
      const [a, b] = await Promise.all([viaSdk, viaRest]);
      expect(a, what).toEqual(b);
      expect(a, what).toMatchObject(expected[what] ?? {});
    }
    const invalid = await sdkError(ada.personas.build.mutate({ persona_name: '', temperature: 3 }));
    expect(invalid.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'persona_name' }),
        expect.objectContaining({ path: 'temperature' }),
      ]),
    );

    // The stream refuses before it starts with the same status and body as REST.
    const streamRefusal = await caught(collect(ada.chatStream(missing, { content: QUESTION })));
    const restRefusal = await restStream(url, `/personas/${missing}/chat/stream`, sdk.token, {
      content: QUESTION,
    });
    expect(restRefusal.status).toBe(404);
    expect({
      status: streamRefusal.status,
      code: streamRefusal.code,
      detail: streamRefusal.detail,
    }).toEqual(
      restError({ status: restRefusal.status, body: JSON.parse(restRefusal.text) } as RestAnswer),
    );
  });

  it('authenticates with an API key, and a stream can be left early', async () => {
    const { sdk } = walks as Required<typeof walks>;
    const ada = createPersonasClient({ url, token: sdk.token });
    const created = await ada.auth.createApiKey.mutate({ name: 'ci', expires_in_days: 7 });
    expect(created.key).toMatch(/^pk_/);
    const byKey = createPersonasClient({ url, apiKey: created.key });
    expect(await byKey.auth.me.query()).toEqual(await ada.auth.me.query());
    expect((await ada.auth.listApiKeys.query()).api_keys.map((k) => k.api_key_id)).toEqual([
      created.api_key_id,
    ]);
    // Logging out is for sessions: a key is deleted instead.
    expect((await caught(byKey.auth.logout.mutate())).status).toBe(400);

    // Leaving the loop after `meta` ends the iteration without waiting for the reply.
    const seen: string[] = [];
    for await (const event of byKey.chatStream(sdk.built.persona_id, { content: QUESTION })) {
      seen.push(event.type);
      break;
    }
    expect(seen).toEqual(['meta']);
    // An aborted stream rejects with the abort, not with a PersonasError.
    const controller = new AbortController();
    controller.abort();
    await expect(
      collect(
        byKey.chatStream(
          sdk.built.persona_id,
          { content: QUESTION },
          { signal: controller.signal },
        ),
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });

    await ada.auth.deleteApiKey.mutate({ api_key_id: created.api_key_id });
    expect((await caught(byKey.auth.me.query())).status).toBe(401);
  });

  it('chats the same way in all three examples (SDK, raw tRPC, fetch)', async () => {
    const { sdk } = walks as Required<typeof walks>;
    const run = promisify(execFile);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const runExample = async (file: string) => {
      // The condition resolves @personas/sdk to its sources, as in the tests: no build needed.
      const args = ['--conditions=@personas/source', '--import', 'tsx', file, QUESTION];
      const { stdout } = await run(process.execPath, args, {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          PERSONAS_URL: url,
          PERSONAS_TOKEN: sdk.token,
          PERSONA_ID: sdk.built.persona_id,
        },
      });
      return stdout;
    };
    const [withSdk, withTrpc, withFetch] = await Promise.all([
      runExample('examples/chat-with-sdk.ts'),
      runExample('examples/chat-with-trpc.ts'),
      runExample('examples/chat-with-fetch.ts'),
    ]);
    const reply = sdk.chat.response;
    expect(withSdk).toBe(`${reply}\n${reply}\n`);
    expect(withTrpc).toBe(withSdk);
    expect(withFetch).toBe(withSdk);
  });

  it('cleans up the same way through both transports', async () => {
    const { sdk, rest } = walks as Required<typeof walks>;
    const ada = createPersonasClient({ url, token: sdk.token });
    const call = restAs(url, rest.token);
    const persona_id = sdk.built.persona_id;

    const viaSdk = [
      await ada.chat.deleteHistory.mutate({ id: sdk.chat.message_history_id }),
      await ada.personas.delete.mutate({ persona_id }),
      await ada.collections.delete.mutate({ name: 'ada-handbook' }),
      await admin.users.delete.mutate({ user_id: sdk.registered.user_id }),
    ];
    const viaRest = [
      ok(await call('DELETE', `/message_histories/${rest.chat.message_history_id}`)),
      ok(await call('DELETE', `/personas/build/${rest.built.persona_id}`)),
      ok(await call('DELETE', '/collections/grace-handbook')),
      ok(await restAs(url, adminToken)('DELETE', `/users/${rest.registered.user_id}`)),
    ];
    expect(viaRest).toEqual(viaSdk);
    expect(viaSdk.map((m) => m.message)).toEqual([
      'Message history deleted successfully',
      'Persona deleted successfully',
      expect.any(String),
      'User deleted successfully',
    ]);

    // Gone for everyone: the users' tokens, and what they built.
    expect((await caught(ada.auth.me.query())).status).toBe(401);
    expect((await call('GET', '/auth/me')).status).toBe(401);
    expect((await caught(admin.personas.get.query({ persona_id }))).status).toBe(404);
    expect(
      (await restAs(url, adminToken)('GET', `/personas/${rest.built.persona_id}`)).status,
    ).toBe(404);
    expect((await admin.collections.list.query()).collections).toEqual([]);
    expect((await admin.users.list.query()).users.map((u) => u.email)).toEqual([ADMIN.email]);
  });
});
