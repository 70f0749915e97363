// The server killed with SIGKILL while documents are being uploaded and deleted and chats are
// answered, ten times over on the same data directory (and database): after each restart every
// acknowledged document is listed and found by search (vector and hybrid), every acknowledged
// deletion stays done, every acknowledged chat exchange is in its history (and no question is
// stored without its answer), and the indexes equal the chunks table — at the end, a graceful
// stop and start loads every index as saved, with nothing to rebuild.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../apps/server/src/test-support/seeded-random';
import { type ServerDatabase, serverDatabase } from './support/database';
import { ADMIN, adminEnv } from './support/fixtures';
import { type RestAnswer, type RestCall, rest } from './support/rest';
import { type ServerProcess, startServerProcess } from './support/server-process';

const SEED = Number(process.env.SIGKILL_SEED ?? 20_260_502);
const CYCLES = 10;
/** Clients sending requests at once while the server is killed. */
const CLIENTS = 4;
/** Acknowledgements a cycle waits for before it picks its moment to kill (a few per cycle). */
const ACKS_BEFORE_KILL = 3;
/** Every wait is bounded; a loaded 2-core machine is slow, never stuck. */
const WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const COLLECTIONS = ['crash-notes', 'crash-logs'];

const ENV = {
  ...adminEnv(),
  CHAT_RATE_LIMIT_PER_MINUTE: '1000000',
  // On Postgres a job the kill interrupted waits out its lease before the restart takes it up.
  INGESTION_LEASE_SECONDS: '3',
};

interface DocumentRecord {
  /** Known once the upload is acknowledged. */
  id: string | null;
  collection: string;
  docPath: string;
  word: string;
  /**
   * `sent`: uploaded, not acknowledged (the kill came first): stored or not, either is right.
   * `deleting`: a deletion was sent and not answered: either outcome is right.
   */
  state: 'sent' | 'present' | 'deleting' | 'deleted';
}

interface ChatRecord {
  historyId: string;
  content: string;
}

const random = seededRandom(SEED);
const documents: DocumentRecord[] = [];
const chats: ChatRecord[] = [];
let db: ServerDatabase;
let dataDir: string;
let server: ServerProcess | undefined;
let token = '';
let personaId = '';
let words = 0;

/** Writes answered 2xx: uploads and chat exchanges. */
const acknowledged = () => documents.filter((d) => d.id !== null).length + chats.length;

/** A word no other document holds, letters only (the lexical index splits on digits). */
function uniqueWord(): string {
  words += 1;
  let word = 'zq';
  for (let n = words; n > 0; n = Math.floor(n / 26)) word += String.fromCharCode(97 + (n % 26));
  for (let i = 0; i < 6; i += 1) word += String.fromCharCode(97 + Math.floor(random() * 26));
  return word;
}

function call<T = unknown>(
  method: RestCall['method'],
  urlPath: string,
  body?: unknown,
): Promise<RestAnswer<T>> {
  if (!server) throw new Error('no server running');
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return rest<T>(server.url, { method, path: urlPath, token, body, signal });
}

async function ok<T>(answer: Promise<RestAnswer<T>>, what: string): Promise<T> {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`${what}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

async function start(): Promise<ServerProcess> {
  server = await startServerProcess({ ...ENV, ...db.env }, { dataDir });
  return server;
}

/** Errors each server process logged (level 50 and above: an unhandled error, a failed job). */
const loggedErrors: string[] = [];

function collectLoggedErrors(stopped: ServerProcess): void {
  for (const line of stopped.output().split('\n')) {
    if (/"level":(5|6)\d/.test(line)) loggedErrors.push(line.slice(0, 500));
  }
}

async function kill(): Promise<void> {
  if (!server) return;
  const stopped = server;
  server = undefined;
  if (stopped.child.exitCode === null && stopped.child.signalCode === null) {
    stopped.child.kill('SIGKILL');
  }
  await stopped.exited;
  collectLoggedErrors(stopped);
}

/** `/readyz` once it answers 200 (bounded). */
async function ready(): Promise<{ vector_indexes: { loaded: number; rebuilt: number } }> {
  const deadline = Date.now() + WAIT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const response = await fetch(`${server?.url}/readyz`, { signal }).catch(() => null);
    if (response?.status === 200) {
      return (await response.json()) as { vector_indexes: { loaded: number; rebuilt: number } };
    }
    last = `${response?.status} ${await response?.text()}`;
    await delay(100);
  }
  throw new Error(`/readyz did not answer 200 within ${WAIT_MS} ms: ${last}`);
}

beforeAll(async () => {
  db = await serverDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'personas-sigkill-'));
  console.log(`sigkill: seed ${SEED} (SIGKILL_SEED replays), database ${db.kind}`);
});

afterAll(async () => {
  await kill();
  await db?.[Symbol.asyncDispose]();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** One request of the load; what it acknowledged is recorded only once it answered 2xx. */
async function once(cycle: number, inFlight: { count: number }): Promise<void> {
  const roll = random();
  const present = documents.filter((d) => d.state === 'present');
  inFlight.count += 1;
  try {
    if (roll < 0.5 || present.length < 4) {
      const word = uniqueWord();
      const collection = COLLECTIONS[words % COLLECTIONS.length]!;
      const docPath = `cycle-${cycle}/${word}.md`;
      const doc: DocumentRecord = { id: null, collection, docPath, word, state: 'sent' };
      documents.push(doc);
      const answer = await call<{ document_id: string }>(
        'POST',
        `/collections/${collection}/documents`,
        {
          file_name: `${word}.md`,
          doc_path: docPath,
          content_type: 'text/markdown',
          content: `# Note ${word}\n\n${word} was written in cycle ${cycle}; ${word} must survive.`,
        },
      );
      if (answer.status === 200) {
        doc.id = answer.body.document_id;
        doc.state = 'present';
      }
    } else if (roll < 0.85) {
      // Half of the chats continue a conversation acknowledged earlier (maybe before a kill).
      const earlier =
        chats.length > 0 && random() < 0.5 ? chats[Math.floor(random() * chats.length)] : undefined;
      const content = `What about ${uniqueWord()} in cycle ${cycle}?`;
      const answer = await call<{ message_history_id: string }>(
        'POST',
        `/personas/${personaId}/chat`,
        { content, ...(earlier ? { message_history_id: earlier.historyId } : {}) },
      );
      if (answer.status === 200) chats.push({ historyId: answer.body.message_history_id, content });
    } else {
      const doc = present[Math.floor(random() * present.length)]!;
      doc.state = 'deleting';
      const answer = await call('DELETE', `/collections/${doc.collection}/documents/${doc.id}`);
      if (answer.status === 200) doc.state = 'deleted';
      // A 404 cannot happen: nothing else deletes it. Anything else leaves it `deleting`.
    }
  } finally {
    inFlight.count -= 1;
  }
}

/**
 * Load from `CLIENTS` clients until the server dies under them: each sends one request after
 * another (network errors once it is gone end the client). Resolves when every client stopped.
 */
function load(cycle: number, inFlight: { count: number }, stop: { now: boolean }, pauseMs: number) {
  const client = async () => {
    // Bounded: no client sends more than this in one cycle, whatever happens.
    for (let n = 0; n < 500 && !stop.now; n += 1) {
      try {
        await once(cycle, inFlight);
      } catch {
        // The server was killed under this request: unacknowledged, so nothing is recorded.
        if (stop.now) return;
      }
      // Pacing for the long cycles, so that they do not pile up thousands of documents.
      if (pauseMs > 0) await delay(pauseMs);
    }
  };
  return Promise.all(Array.from({ length: CLIENTS }, client));
}

/** Every page of a cursor-paged list. */
async function allPages<T>(first: string, key: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const sep = first.includes('?') ? '&' : '?';
    const url = cursor ? `${first}${sep}cursor=${encodeURIComponent(cursor)}` : first;
    const body = await ok<Record<string, unknown>>(call('GET', url), url);
    items.push(...(body[key] as T[]));
    cursor = body.next_cursor as string | null;
    if (!cursor) return items;
  }
  throw new Error(`${first}: more than 100 pages`);
}

/**
 * Waits (bounded) until no listed document is still `queued` or `processing`: an upload the kill
 * cut short of its answer was accepted all the same, and its job is taken up after the restart.
 */
async function jobsSettled(): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    let pending = 0;
    for (const collection of COLLECTIONS) {
      const listed = await allPages<{ status: string }>(
        `/collections/${collection}/documents?limit=200`,
        'documents',
      );
      pending += listed.filter((d) => d.status === 'queued' || d.status === 'processing').length;
    }
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending} ingestion jobs did not settle`);
    await delay(100);
  }
}

/** What is wrong after a restart: acknowledged writes missing, indexes disagreeing with the table. */
async function check(indexesAtStart = COLLECTIONS.length): Promise<string[]> {
  const wrong: string[] = [];
  const readyz = await ready();
  const { loaded, rebuilt } = readyz.vector_indexes;
  if (loaded + rebuilt !== indexesAtStart) {
    wrong.push(`readyz: ${loaded} loaded + ${rebuilt} rebuilt indexes, not ${indexesAtStart}`);
  }
  await jobsSettled();
  for (const collection of COLLECTIONS) {
    const listed = await allPages<{ document_id: string; doc_path: string; chunks: number }>(
      `/collections/${collection}/documents?limit=200`,
      'documents',
    );
    const ids = new Set<string | null>(listed.map((d) => d.document_id));
    const counts = await ok<{ documents: number; chunks: number }>(
      call('GET', `/collections/${collection}`),
      'collection',
    );
    const listedChunks = listed.reduce((sum, d) => sum + d.chunks, 0);
    if (counts.documents !== listed.length || counts.chunks !== listedChunks) {
      wrong.push(
        `${collection}: counts ${JSON.stringify(counts)}, listed ${listed.length} / ${listedChunks}`,
      );
    }
    const ours = documents.filter((d) => d.collection === collection);
    for (const doc of ours) {
      if (doc.state === 'present' && !ids.has(doc.id)) wrong.push(`lost document ${doc.docPath}`);
      if (doc.state === 'deleted' && ids.has(doc.id)) wrong.push(`deleted ${doc.docPath} is back`);
    }
    // Every listed document — acknowledged or not, since a commit the kill cut short of its
    // answer still counts — is in both indexes: its own word finds it, by vector and by BM25.
    const byPath = new Map(ours.map((d) => [d.docPath, d]));
    for (const listedDoc of listed) {
      const doc = byPath.get(listedDoc.doc_path);
      if (!doc) {
        wrong.push(`${collection} lists ${listedDoc.doc_path}, which no one uploaded`);
        continue;
      }
      if (listedDoc.chunks < 1) wrong.push(`${doc.docPath} has no chunks`);
      for (const mode of ['vector', 'hybrid'] as const) {
        const { hits } = await ok<{ hits: { doc_path: string }[] }>(
          call('POST', `/collections/${collection}/search`, { query: doc.word, top_k: 3, mode }),
          'search',
        );
        if (!hits.some((h) => h.doc_path === doc.docPath)) {
          wrong.push(`${mode} search for ${doc.word} misses ${doc.docPath}`);
        }
      }
    }
    // A deleted document's word finds nothing of it.
    for (const doc of ours.filter((d) => d.state === 'deleted')) {
      const { hits } = await ok<{ hits: { doc_path: string }[] }>(
        call('POST', `/collections/${collection}/search`, { query: doc.word, top_k: 3 }),
        'search',
      );
      if (hits.some((h) => h.doc_path === doc.docPath)) wrong.push(`deleted ${doc.docPath} found`);
    }
  }
  for (const historyId of new Set(chats.map((c) => c.historyId))) {
    const messages = await allPages<{ role: string; content: string }>(
      `/message_histories/${historyId}/messages?limit=200`,
      'messages',
    );
    // Stored in pairs, in one transaction: a question is always followed by its answer.
    messages.forEach((m, i) => {
      const expected = i % 2 === 0 ? 'user' : 'assistant';
      if (m.role !== expected) wrong.push(`history ${historyId}: message ${i} is ${m.role}`);
    });
    for (const chat of chats.filter((c) => c.historyId === historyId)) {
      const asked = messages.findIndex((m) => m.role === 'user' && m.content === chat.content);
      if (asked < 0 || messages[asked + 1]?.role !== 'assistant') {
        wrong.push(`lost chat exchange "${chat.content}" in ${historyId}`);
      }
    }
  }
  return wrong;
}

describe('SIGKILL during ingestion and chat', () => {
  it(`keeps every acknowledged write and indexes equal to the chunks table, over ${CYCLES} kills`, async () => {
    const report: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
      await start();
      const readyz = await ready();
      if (cycle === 1) {
        // The first server starts on an empty data directory: the cast, then the first load.
        token = (await ok<{ token: string }>(call('POST', '/auth/login', ADMIN), 'login')).token;
        for (const name of COLLECTIONS) await ok(call('POST', '/collections', { name }), name);
        personaId = (
          await ok<{ persona_id: string }>(
            call('POST', '/personas/build', {
              persona_name: 'Crash survivor',
              rag: { db_collections: COLLECTIONS },
            }),
            'persona',
          )
        ).persona_id;
      }
      const wrong = await check(cycle === 1 ? 0 : COLLECTIONS.length);
      expect(wrong, `after the kill before cycle ${cycle}`).toEqual([]);

      const acknowledgedBefore = acknowledged();
      const inFlight = { count: 0 };
      const stop = { now: false };
      // Every fourth cycle runs long enough for the indexes' first background save (5 s after a
      // change), at a gentler pace, so that its kill lands around a save rather than before one.
      const longer = cycle % 4 === 0 ? 4_500 + random() * 2_000 : 0;
      const running = load(cycle, inFlight, stop, longer > 0 ? 400 : 0);
      const deadline = Date.now() + WAIT_MS;
      while (acknowledged() < acknowledgedBefore + ACKS_BEFORE_KILL) {
        if (Date.now() > deadline) throw new Error(`cycle ${cycle}: no load acknowledged`);
        await delay(10);
      }
      // A moment chosen by the seed, then the kill lands while requests are in flight.
      await delay(Math.floor(longer + random() * 300));
      for (let i = 0; i < 400 && inFlight.count === 0; i += 1) await delay(5);
      const cutInFlight = inFlight.count;
      stop.now = true;
      await kill();
      await running;
      report.push(
        `cycle ${cycle}: indexes at start ${JSON.stringify(readyz.vector_indexes)}, ` +
          `${acknowledged() - acknowledgedBefore} acknowledged, ` +
          `${cutInFlight} in flight at the kill`,
      );
      expect(cutInFlight, `cycle ${cycle}: requests in flight at the kill`).toBeGreaterThan(0);
    }

    // After the last kill: everything acknowledged is there. Then a graceful stop saves the
    // indexes as they are in memory, and the next start finds each equal to the chunks table
    // (same count and id checksum), so it loads them all and rebuilds none.
    await start();
    expect(await check(), 'after the last kill').toEqual([]);
    const stopping = server;
    server = undefined;
    stopping?.child.kill('SIGTERM');
    expect(await stopping?.exited, 'a graceful stop').toBe(0);
    if (stopping) collectLoggedErrors(stopping);
    await start();
    const settled = await ready();
    expect(settled.vector_indexes).toEqual({ loaded: COLLECTIONS.length, rebuilt: 0 });
    expect(await check(), 'after a graceful restart').toEqual([]);
    const count = (state: DocumentRecord['state']) =>
      documents.filter((d) => d.state === state).length;
    console.log(
      `sigkill (seed ${SEED}): documents ${count('present')} present, ${count('deleted')} ` +
        `deleted, ${count('sent')} unanswered uploads, ${count('deleting')} unanswered deletions; ` +
        `${chats.length} chat exchanges\n  ${report.join('\n  ')}`,
    );
    await kill();
    expect(loggedErrors, 'errors the servers logged').toEqual([]);
  }, 600_000);
});
