/**
 * npm run bench:replicas — several server processes on one Postgres database.
 *
 * Round 0, the log's cost, in-process on a fresh database: inserting documents of 500 chunks
 * with the change-log trigger and with it disabled; and two writers filling one collection at once,
 * as the xid8 log lets them, versus each holding the collection's row lock until commit, as a
 * per-collection version bumped under a row lock would make them.
 *
 * Round 1, visibility: 2, then 3 real processes on a database created for the run (on
 * BENCH_DATABASE_URL's server, default the machine's); BENCH_ROUNDS documents (default 30) are
 * added through one process in turn, and every other process is searched every 10 ms from the
 * moment the upload answered (`ready`) until the document is its hit. Prints p50/p99 of that lag,
 * then again after every connection of the database was terminated (pg_terminate_backend).
 *
 * Round 2, restarts: one process grows a collection to BENCH_CHUNKS chunks (default 50,000), is
 * killed with SIGKILL after a few more writes, and is started again on its data directory: time
 * from spawn to `/readyz` 200 (checkpoint + log replay), versus the same start with the index
 * files deleted (a full rebuild), versus an empty server's start — as ratios.
 *
 * Round 3, disk writes: one process on PGlite grows a collection to BENCH_CHUNKS chunks; bytes the
 * process wrote (`/proc/<pid>/io` write_bytes) per chunk.
 *
 * `npm run bench:replicas -- log restarts` runs only the rounds named (log, visibility, restarts,
 * writes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { psql } from '../../../test/support/database';
import { adminEnv } from '../../../test/support/fixtures';
import { rest } from '../../../test/support/rest';
import { type ServerProcess, startServerProcess } from '../../../test/support/server-process';
import { collectionsRepository } from '../src/collections/repository';
import { connectDatabase } from '../src/db/connect';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { seededRandom } from '../src/test-support/seeded-random';
import { readBenchEnv } from './bench-env';
import { login, percentile, withDatabase, writeBytes } from './bench-server';

const env = readBenchEnv();
const serverUrl = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const documents = env.BENCH_ROUNDS ?? 30;
const targetChunks = env.BENCH_CHUNKS ?? 50_000;
const COLLECTION = 'bench';
/** Chunks per uploaded document while growing a collection (about 800 KB of text). */
const CHUNKS_PER_DOCUMENT = 1000;
/** The longest any document may take to become visible before the bench gives up on it. */
const VISIBILITY_BOUND_MS = 30_000;
const POLL_MS = 10;

const serverEnv = (databaseUrl: string | null) => ({
  ...adminEnv(),
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  CHAT_RATE_LIMIT_PER_MINUTE: '1000000',
});

async function call<T>(
  url: string,
  token: string,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
) {
  const answer = await rest<T>(url, { method, path: p, token, body });
  if (answer.status >= 300)
    throw new Error(`${method} ${p}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ms = (value: number) => `${Math.round(value)} ms`;

/** A document of `chunks` paragraphs of about 780 characters of seeded words. */
function corpusDocument(random: () => number, chunks: number): string {
  const words = [
    'harbour',
    'tide',
    'ferry',
    'lantern',
    'quay',
    'crane',
    'gull',
    'pier',
    'storm',
    'signal',
  ];
  const paragraphs: string[] = [];
  for (let i = 0; i < chunks; i++) {
    let text = '';
    while (text.length < 760) {
      text += `${words[Math.floor(random() * words.length)]}${Math.floor(random() * 5000)} `;
    }
    paragraphs.push(text.trim());
  }
  return paragraphs.join('\n\n');
}

/** Adds documents through `writers` in turn; returns each document's lag to each reader. */
async function visibilityRound(
  processes: ServerProcess[],
  token: string,
  count: number,
  label: string,
): Promise<number[]> {
  const lags: number[] = [];
  for (let i = 0; i < count; i++) {
    const writer = i % processes.length;
    const word = `beacon${label}${i}x${Math.floor(Math.random() * 1e6)}`;
    // After a cut, the first request through a process may meet a dead connection (a 503).
    for (let attempt = 0; ; attempt++) {
      const answer = await rest(processes[writer]!.url, {
        method: 'POST',
        path: `/collections/${COLLECTION}/documents`,
        token,
        body: { file_name: `${word}.txt`, content: `The ${word} shines over the harbour tonight.` },
      });
      if (answer.status < 300) break;
      if (attempt >= 20) throw new Error(`upload failed: ${answer.status}`);
      await sleep(250);
    }
    const ready = performance.now();
    const readers = processes.filter((_, j) => j !== writer);
    const seen = await Promise.all(
      readers.map(async (reader) => {
        while (performance.now() - ready < VISIBILITY_BOUND_MS) {
          const answer = await rest<{ hits: { file_name: string }[] }>(reader.url, {
            method: 'POST',
            path: `/collections/${COLLECTION}/search`,
            token,
            body: { query: word, top_k: 1, mode: 'hybrid' },
          });
          if (answer.status === 200 && answer.body.hits[0]?.file_name === `${word}.txt`) {
            return performance.now() - ready;
          }
          await sleep(POLL_MS);
        }
        return Number.POSITIVE_INFINITY;
      }),
    );
    lags.push(...seen);
  }
  return lags;
}

function printLags(title: string, lags: number[]) {
  const missed = lags.filter((l) => !Number.isFinite(l)).length;
  console.log(
    `  ${title.padEnd(44)} p50 ${ms(percentile(lags, 50))}, p99 ${ms(percentile(lags, 99))}, max ${ms(Math.max(...lags))} (${lags.length} reads${missed ? `, ${missed} never seen` : ''})`,
  );
}

async function visibility(): Promise<void> {
  await withDatabase(serverUrl, async (databaseUrl) => {
    const dirs: string[] = [];
    const processes: ServerProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) processes.push(await startServerProcess(serverEnv(databaseUrl)));
      const token = await login(processes[0]!.url);
      await call(processes[0]!.url, token, 'POST', '/collections', { name: COLLECTION });
      console.log(`Visibility lag: upload answered (ready) → first hit on another process`);
      printLags('2 processes', await visibilityRound(processes, token, documents, 'a'));
      processes.push(await startServerProcess(serverEnv(databaseUrl)));
      printLags('3 processes', await visibilityRound(processes, token, documents, 'b'));
      const name = new URL(databaseUrl).pathname.slice(1);
      const cut = await psql(
        serverUrl,
        `select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`,
      );
      printLags(
        `3 processes, after ${cut} connections were cut`,
        await visibilityRound(processes, token, documents, 'c'),
      );
    } finally {
      for (const p of processes) await p[Symbol.asyncDispose]();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
}

/** Grows the collection to `chunks` chunks through `url`, two uploads at a time. */
async function grow(url: string, token: string, chunks: number): Promise<void> {
  const random = seededRandom(7);
  const uploads = Math.ceil(chunks / CHUNKS_PER_DOCUMENT);
  let next = 0;
  const worker = async () => {
    while (next < uploads) {
      const i = next++;
      const size = Math.min(CHUNKS_PER_DOCUMENT, chunks - i * CHUNKS_PER_DOCUMENT);
      await call(url, token, 'POST', `/collections/${COLLECTION}/documents`, {
        file_name: `corpus-${i}.txt`,
        content: corpusDocument(random, size),
      });
    }
  };
  await Promise.all([worker(), worker()]);
}

/** From spawn to listening (`/healthz` answers) and to `/readyz` 200 (indexes loaded). */
async function timeToReady(start: () => Promise<ServerProcess>) {
  const begun = performance.now();
  const server = await start();
  const listenMs = performance.now() - begun;
  for (let i = 0; i < 6000; i++) {
    const answer = await fetch(`${server.url}/readyz`);
    if (answer.status === 200) {
      const body = (await answer.json()) as {
        vector_indexes: { rebuilt: number };
        replayed: number;
      };
      return { server, ms: performance.now() - begun, listenMs, body };
    }
    await sleep(100);
  }
  throw new Error('the server did not become ready');
}

async function restarts(): Promise<void> {
  await withDatabase(serverUrl, async (databaseUrl) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-replica-'));
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess(serverEnv(databaseUrl), { dataDir });
      const token = await login(server.url);
      await call(server.url, token, 'POST', '/collections', { name: COLLECTION });
      const grown = performance.now();
      await grow(server.url, token, targetChunks);
      console.log(
        `Restarts with ${targetChunks} chunks (grown in ${ms(performance.now() - grown)} through one process):`,
      );
      // A few writes after the last checkpoint, so the restart has a log to replay.
      for (let i = 0; i < 5; i++) {
        await call(server.url, token, 'POST', `/collections/${COLLECTION}/documents`, {
          file_name: `late-${i}.txt`,
          content: corpusDocument(seededRandom(100 + i), 20),
        });
      }
      server.child.kill('SIGKILL');
      await server.exited;
      const afterKill = await timeToReady(() =>
        startServerProcess(serverEnv(databaseUrl), { dataDir, awaitIndexes: false }),
      );
      server = afterKill.server;
      server.child.kill('SIGKILL');
      await server.exited;
      for (const directory of ['indexes', 'lexical-indexes']) {
        await rm(path.join(dataDir, directory), { recursive: true, force: true });
      }
      const rebuild = await timeToReady(() =>
        startServerProcess(serverEnv(databaseUrl), { dataDir, awaitIndexes: false }),
      );
      server = rebuild.server;
      await server[Symbol.asyncDispose]();
      server = undefined;
      const empty = await withDatabase(serverUrl, (emptyUrl) =>
        timeToReady(() => startServerProcess(serverEnv(emptyUrl), { awaitIndexes: false })).then(
          async (r) => {
            await r.server[Symbol.asyncDispose]();
            return r;
          },
        ),
      );
      const row = (title: string, r: { ms: number; listenMs: number; body: unknown }) =>
        console.log(
          `  ${title.padEnd(44)} listening ${ms(r.listenMs).padStart(9)}, ready ${ms(r.ms).padStart(9)}  ${JSON.stringify(r.body)}`,
        );
      row('after SIGKILL (checkpoint + log replay)', afterKill);
      row('forced full rebuild (index files deleted)', rebuild);
      row('empty server', empty);
      console.log(
        `  rebuild / after SIGKILL: ${(rebuild.ms / afterKill.ms).toFixed(1)}x; after SIGKILL / empty: ${(afterKill.ms / empty.ms).toFixed(1)}x`,
      );
    } finally {
      await server?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

async function diskWrites(): Promise<void> {
  await using server = await startServerProcess(serverEnv(null));
  const token = await login(server.url);
  await call(server.url, token, 'POST', '/collections', { name: COLLECTION });
  const pid = server.child.pid!;
  const before = await writeBytes(pid);
  await grow(server.url, token, targetChunks);
  const after = await writeBytes(pid);
  console.log(
    `Disk writes growing a collection to ${targetChunks} chunks on PGlite: ${((after - before) / 1e6).toFixed(0)} MB, ${((after - before) / targetChunks / 1024).toFixed(1)} KB per chunk`,
  );
}

async function logCost(): Promise<void> {
  await withDatabase(serverUrl, async (databaseUrl) => {
    const { db } = await connectDatabase({ databaseUrl, dataDir: null }, createLogger('silent'));
    try {
      await migrateToLatest(db);
      const user = await db
        .insertInto('users')
        .values({ email: 'bench@example.com', password_hash: 'x' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const collection = await collectionsRepository.insert(db, {
        name: COLLECTION,
        owner_id: user.id,
        embedding_model: 'bench',
        dimensions: 384,
      });
      const collectionId = collection!.id;
      const random = seededRandom(3);
      const vector = () => {
        const v = Array.from({ length: 384 }, () => random() - 0.5);
        const norm = Math.hypot(...v);
        return v.map((x) => x / norm);
      };
      const chunks = Array.from({ length: 500 }, (_, i) => ({
        text: `chunk ${i}`,
        embedding: vector(),
      }));
      const insertDocument = (rowLock: boolean) =>
        db.transaction().execute(async (trx) => {
          // What bumping a per-collection version would hold until commit.
          if (rowLock) {
            await sql`update collections set description = description where id = ${collectionId}`.execute(
              trx,
            );
          }
          const document = await collectionsRepository.insertDocument(trx, {
            collection_id: collectionId,
            file_name: 'bench.txt',
            content_type: 'text/plain',
            content_sha256: 'x',
            bytes: 1,
            chunk_count: chunks.length,
          });
          await collectionsRepository.insertChunks(
            trx,
            chunks.map((c, position) => ({
              ...c,
              collection_id: collectionId,
              document_id: document.id,
              position,
            })),
          );
        });
      const timed = async (work: () => Promise<unknown>) => {
        const begun = performance.now();
        await work();
        return performance.now() - begun;
      };
      const sequential = async () => {
        for (let i = 0; i < 10; i++) await insertDocument(false);
      };
      const twoWriters = (rowLock: boolean) =>
        Promise.all(
          [0, 1].map(async () => {
            for (let i = 0; i < 5; i++) await insertDocument(rowLock);
          }),
        );
      await sequential(); // warm up
      const withLog = await timed(sequential);
      await sql`alter table chunks disable trigger chunks_log_insert`.execute(db);
      const withoutLog = await timed(sequential);
      await sql`alter table chunks enable trigger chunks_log_insert`.execute(db);
      const parallel = await timed(() => twoWriters(false));
      const locked = await timed(() => twoWriters(true));
      console.log("The change log's cost (10 documents of 500 chunks, Postgres):");
      console.log(
        `  with the log trigger ${ms(withLog)}, without ${ms(withoutLog)}: ${(withLog / withoutLog).toFixed(2)}x`,
      );
      console.log(
        `  two writers into one collection: free (xid8) ${ms(parallel)}, under a row lock ${ms(locked)}: ${(locked / parallel).toFixed(2)}x`,
      );
    } finally {
      await db.destroy();
    }
  });
}

const only = new Set(process.argv.slice(2));
const rounds = { log: logCost, visibility, restarts, writes: diskWrites };
for (const [name, round] of Object.entries(rounds)) {
  if (only.size === 0 || only.has(name)) await round();
}
