// Three real server processes on one Postgres database behave as one service: what is written
// through one is found (or no longer found) through every other within a bounded wait, also after
// every database connection was cut and after a process was killed with SIGKILL and restarted —
// which replays the change log from its checkpoint instead of rebuilding. Postgres only: PGlite is
// one process by design.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { psql, type ServerDatabase, serverDatabase } from './support/database';
import { ADMIN, adminEnv } from './support/fixtures';
import { rest } from './support/rest';
import { type ServerProcess, startServerProcess } from './support/server-process';

const postgres = Boolean(process.env.TEST_DATABASE_URL);

const TEST_TIMEOUT = 300_000;
/** The contract's bound is 1 s; the wait here is generous for a loaded 2-core machine. */
const CONVERGE = { timeout: 15_000, interval: 100 };
const COLLECTION = 'replicated';

interface Hit {
  file_name: string;
  doc_path: string;
  document_string: string;
}

describe.skipIf(!postgres)('several server processes on one Postgres database', () => {
  let database: ServerDatabase;
  const servers: ServerProcess[] = [];
  let killedDataDir: string;
  let token: string;
  let collectionId: string;
  let env: Record<string, string>;

  const url = (i: number) => servers[i]!.url;
  const call = <T>(i: number, method: 'GET' | 'POST' | 'DELETE', p: string, body?: unknown) =>
    rest<T>(url(i), { method, path: p, token, body });
  const ok = async <T>(answer: Promise<{ status: number; body: T }>) => {
    const { status, body } = await answer;
    if (status >= 300) throw new Error(`${status}: ${JSON.stringify(body)}`);
    return body;
  };
  const search = async (i: number, query: string) =>
    (
      await ok(
        call<{ hits: Hit[] }>(i, 'POST', `/collections/${COLLECTION}/search`, {
          query,
          top_k: 10,
        }),
      )
    ).hits;
  const found = async (i: number, query: string, fileName: string) =>
    (await search(i, query)).some((h) => h.file_name === fileName);
  const addDocument = (i: number, doc: { file_name: string; doc_path?: string; content: string }) =>
    ok(call<{ document_id: string }>(i, 'POST', `/collections/${COLLECTION}/documents`, doc));
  /** Waits (bounded) until every process in `which` finds, or no longer finds, the file. */
  const converge = (which: number[], query: string, fileName: string, present: boolean) =>
    vi.waitFor(async () => {
      for (const i of which) expect(await found(i, query, fileName), `process ${i}`).toBe(present);
    }, CONVERGE);

  beforeAll(async () => {
    database = await serverDatabase();
    killedDataDir = await mkdtemp(path.join(tmpdir(), 'personas-replica-'));
    env = {
      ...database.env,
      ...adminEnv(),
      CHAT_RATE_LIMIT_PER_MINUTE: '3',
      // A checkpoint soon after each change, so the process killed below has one to start from.
      INDEX_CHECKPOINT_SECONDS: '1',
    };
    // All three at once, as a rolling upgrade starts them: each migration must run once.
    servers.push(
      ...(await Promise.all([
        startServerProcess(env),
        startServerProcess(env),
        startServerProcess(env, { dataDir: killedDataDir }),
      ])),
    );
    const login = await rest<{ token: string }>(url(0), {
      method: 'POST',
      path: '/auth/login',
      body: ADMIN,
    });
    token = login.body.token;
    const created = await ok(
      call<{ collection_id: string }>(0, 'POST', '/collections', { name: COLLECTION }),
    );
    collectionId = created.collection_id;
  }, TEST_TIMEOUT);

  afterAll(async () => {
    for (const server of servers) await server[Symbol.asyncDispose]();
    await database?.[Symbol.asyncDispose]();
    await rm(killedDataDir, { recursive: true, force: true });
  }, TEST_TIMEOUT);

  it('ran each migration exactly once though three processes started at once', async () => {
    const { serverUrl, name } = database.postgres!;
    const dbUrl = new URL(serverUrl);
    dbUrl.pathname = `/${name}`;
    const counts = await psql(
      dbUrl.toString(),
      "select count(*) || ' ' || count(distinct name) from kysely_migration",
    );
    const [all, distinct] = counts.split(' ').map(Number);
    expect(all).toBe(distinct);
    expect(all).toBeGreaterThanOrEqual(10);
  });

  it(
    'finds a document added through one process through it at once and through the others soon',
    async () => {
      await addDocument(0, {
        file_name: 'tides.txt',
        content: 'The harbour master posts the spring tide tables every Monday morning.',
      });
      // Read your own writes: no wait through the process that answered.
      expect(await found(0, 'spring tide tables harbour master', 'tides.txt')).toBe(true);
      await converge([1, 2], 'spring tide tables harbour master', 'tides.txt', true);
    },
    TEST_TIMEOUT,
  );

  it(
    'replaces and deletes through one process, seen by every other',
    async () => {
      await addDocument(1, {
        file_name: 'ferry-v1.txt',
        doc_path: 'ferries/timetable',
        content: 'The ferry to Lindholm leaves at seven from pier four.',
      });
      await converge([0, 2], 'ferry Lindholm pier four', 'ferry-v1.txt', true);
      await addDocument(2, {
        file_name: 'ferry-v2.txt',
        doc_path: 'ferries/timetable',
        content: 'The ferry to Lindholm now leaves at eight from pier nine.',
      });
      expect(await found(2, 'ferry Lindholm pier nine', 'ferry-v2.txt')).toBe(true);
      expect(await found(2, 'ferry Lindholm pier four', 'ferry-v1.txt')).toBe(false);
      await converge([0, 1], 'ferry Lindholm pier nine', 'ferry-v2.txt', true);
      await converge([0, 1], 'ferry Lindholm pier four', 'ferry-v1.txt', false);

      const doomed = await addDocument(0, {
        file_name: 'zeppelin.txt',
        content: 'The zeppelin hangar opens at dawn for inspection.',
      });
      await converge([1, 2], 'zeppelin hangar dawn', 'zeppelin.txt', true);
      await ok(call(1, 'DELETE', `/collections/${COLLECTION}/documents/${doomed.document_id}`));
      expect(await found(1, 'zeppelin hangar dawn', 'zeppelin.txt')).toBe(false);
      await converge([0, 2], 'zeppelin hangar dawn', 'zeppelin.txt', false);
    },
    TEST_TIMEOUT,
  );

  it(
    'leaves one document when uploads of one doc_path race through different processes',
    async () => {
      const uploads = Array.from({ length: 6 }, (_, i) =>
        call(i % 3, 'POST', `/collections/${COLLECTION}/documents`, {
          file_name: `race-${i}.txt`,
          doc_path: 'race/notice',
          content: `Race notice number ${i}: the regatta starts at noon from the lighthouse.`,
        }),
      );
      const answers = await Promise.all(uploads);
      // A 409 asks to try again; never two documents, never a 500.
      for (const a of answers) expect([200, 201, 409]).toContain(a.status);
      const listed = await ok(
        call<{ documents: { doc_path: string; file_name: string }[] }>(
          0,
          'GET',
          `/collections/${COLLECTION}/documents?limit=200`,
        ),
      );
      const racers = listed.documents.filter((d) => d.doc_path === 'race/notice');
      expect(racers).toHaveLength(1);
      const winner = racers[0]!.file_name;
      // Every process finds the one that stayed and none of the others.
      await vi.waitFor(async () => {
        for (const i of [0, 1, 2]) {
          const names = (await search(i, 'regatta noon lighthouse race notice'))
            .map((h) => h.file_name)
            .filter((n) => n.startsWith('race-'));
          expect([...new Set(names)], `process ${i}`).toEqual([winner]);
        }
      }, CONVERGE);
    },
    TEST_TIMEOUT,
  );

  it(
    'converges again after every database connection was terminated',
    async () => {
      const { serverUrl, name } = database.postgres!;
      const terminated = await psql(
        serverUrl,
        `select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`,
      );
      // Each process held at least its listening connection.
      expect(Number(terminated)).toBeGreaterThanOrEqual(3);
      // The first requests may meet a dead pooled connection (a 503 to retry); then it works.
      await vi.waitFor(
        () =>
          addDocument(1, {
            file_name: 'after-cut.txt',
            content: 'After the cut the signal tower relays the storm warning.',
          }),
        CONVERGE,
      );
      await converge([0, 1, 2], 'signal tower storm warning', 'after-cut.txt', true);
      // And each is listening again, not only polling.
      await vi.waitFor(async () => {
        const listening = await psql(
          serverUrl,
          `select count(*) from pg_stat_activity where datname = '${name}' and query = 'LISTEN chunk_changes'`,
        );
        expect(Number(listening)).toBe(3);
      }, CONVERGE);
    },
    TEST_TIMEOUT,
  );

  it(
    'a process killed with SIGKILL while others write catches up from its checkpoint, without a rebuild',
    async () => {
      const meta = path.join(killedDataDir, 'indexes', `${collectionId}.hnsw.meta.json`);
      // Its checkpoint exists (written a second after its changes).
      await vi.waitFor(() => stat(meta), CONVERGE);
      const killed = servers[2]!;
      killed.child.kill('SIGKILL');
      await killed.exited;
      await addDocument(0, {
        file_name: 'while-down.txt',
        content: 'While it was down the quay crane lifted the blue containers.',
      });
      const gone = await addDocument(1, {
        file_name: 'short-lived.txt',
        content: 'A short lived note about the pelican colony.',
      });
      await ok(call(0, 'DELETE', `/collections/${COLLECTION}/documents/${gone.document_id}`));

      servers[2] = await startServerProcess(env, { dataDir: killedDataDir });
      const ready = await vi.waitFor(async () => {
        const answer = await fetch(`${url(2)}/readyz`);
        expect(answer.status).toBe(200);
        return (await answer.json()) as {
          vector_indexes: { loaded: number; rebuilt: number };
          replayed: number;
          lag: { changes: number; seconds: number };
        };
      }, CONVERGE);
      expect(ready.vector_indexes.rebuilt).toBe(0);
      expect(ready.replayed).toBeGreaterThanOrEqual(1);
      expect(ready.vector_indexes.loaded).toBeGreaterThanOrEqual(1);
      expect(typeof ready.lag.changes).toBe('number');
      expect(await found(2, 'quay crane blue containers', 'while-down.txt')).toBe(true);
      expect(await found(2, 'pelican colony short lived', 'short-lived.txt')).toBe(false);
      expect(await found(2, 'spring tide tables harbour master', 'tides.txt')).toBe(true);
    },
    TEST_TIMEOUT,
  );

  it(
    'holds the chat rate limit across processes',
    async () => {
      const persona = await ok(
        call<{ persona_id: string }>(0, 'POST', '/personas/build', {
          persona_name: 'Harbour guide',
          rag: { db_collections: [COLLECTION] },
        }),
      );
      const chat = (i: number) =>
        call(i, 'POST', `/personas/${persona.persona_id}/chat`, { content: 'When are the tides?' });
      // Three allowed a minute in all, whichever process takes them.
      for (const i of [0, 1, 2]) expect((await chat(i)).status).toBe(200);
      for (const i of [0, 1, 2]) {
        const refused = await chat(i);
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'runs every queued ingestion job exactly once, whichever process claims it',
    async () => {
      const uploads = await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          ok(
            call<{ document_id: string; status: string }>(
              n % 3,
              'POST',
              `/collections/${COLLECTION}/documents?wait=0`,
              {
                file_name: `queued-${n}.md`,
                content: `# Berth ${n}\n\n${'Mooring lines are doubled before a gale. '.repeat(40 + n)}`,
              },
            ),
          ),
        ),
      );
      const ids = uploads.map((u) => u.document_id);
      const settled = await vi.waitFor(
        async () => {
          const documents = await Promise.all(
            ids.map((id, n) =>
              ok(
                call<{ status: string; chunks: number }>(
                  (n + 1) % 3,
                  'GET',
                  `/collections/${COLLECTION}/documents/${id}`,
                ),
              ),
            ),
          );
          expect(documents.map((d) => d.status)).toEqual(ids.map(() => 'ready'));
          return documents;
        },
        { timeout: 120_000, interval: 250 },
      );
      const { serverUrl, name } = database.postgres!;
      const dbUrl = new URL(serverUrl);
      dbUrl.pathname = `/${name}`;
      const list = ids.map((id) => `'${id}'`).join(',');
      // One stored result per job: one audit event, and each document's chunks once.
      const added = await psql(
        dbUrl.toString(),
        `select count(*) from audit_events where action = 'document.added' and target_id in (${list})`,
      );
      expect(Number(added)).toBe(ids.length);
      const chunks = await psql(
        dbUrl.toString(),
        `select count(*) from chunks where document_id in (${list})`,
      );
      expect(Number(chunks)).toBe(settled.reduce((sum, d) => sum + d.chunks, 0));
    },
    TEST_TIMEOUT,
  );
});
