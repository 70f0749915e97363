// A server killed with SIGKILL while an ingestion job is `processing`: after the restart the job
// is taken up again (at once on PGlite, whose previous process is certainly dead; after its lease
// on Postgres), completes, and the document is searchable exactly once — its chunks stored once,
// never half of them before it was ready.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Collection, CollectionDocument, RagHit } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerDatabase, serverDatabase } from './support/database';
import { ADMIN, adminEnv } from './support/fixtures';
import { type RestAnswer, type RestCall, rest } from './support/rest';
import { type ServerProcess, startServerProcess } from './support/server-process';

const PROCESS_TEST_TIMEOUT = 300_000;
const WAIT_MS = 120_000;
/** A unique word in exactly one paragraph of the document: one chunk holds it. */
const NEEDLE = 'zqxylophonequay';

const ENV = {
  ...adminEnv(),
  DOCUMENT_LIMIT_BYTES: String(24 << 20),
  // On Postgres a killed process's job waits for its lease: keep the test short.
  INGESTION_LEASE_SECONDS: '3',
};

let db: ServerDatabase;
let dataDir: string;
let server: ServerProcess | undefined;
let token = '';

function call<T = unknown>(method: RestCall['method'], urlPath: string, body?: unknown) {
  if (!server) throw new Error('no server running');
  return rest<T>(server.url, { method, path: urlPath, token, body });
}

async function start(): Promise<void> {
  server = await startServerProcess({ ...ENV, ...db.env }, { dataDir });
  const login = await call<{ token: string }>('POST', '/auth/login', ADMIN);
  token = login.body.token;
}

/** Polls the document until `until` holds (bounded), returning the last answer. */
async function documentWhen(
  location: string,
  until: (d: CollectionDocument) => boolean,
): Promise<CollectionDocument> {
  const deadline = Date.now() + WAIT_MS;
  let last: RestAnswer<CollectionDocument> | undefined;
  while (Date.now() < deadline) {
    last = await call<CollectionDocument>('GET', location);
    if (last.status === 200 && until(last.body)) return last.body;
    await delay(20);
  }
  throw new Error(`the document did not reach the state in time: ${JSON.stringify(last?.body)}`);
}

/** About `megabytes` of Markdown in sections; the needle in one paragraph near the middle. */
function bigMarkdown(megabytes: number): string {
  const paragraph =
    'The harbour master records every arrival, departure and cargo manifest in the ledger. ';
  const sections: string[] = [];
  let size = 0;
  for (let i = 0; size < megabytes * 1024 * 1024; i++) {
    const body =
      i === 400 ? `The ${NEEDLE} berth is reserved for the lifeboat.` : paragraph.repeat(6);
    const section = `## Section ${i}\n\n${body}\n\n`;
    sections.push(section);
    size += section.length;
  }
  return sections.join('');
}

beforeAll(async () => {
  db = await serverDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'personas-ingestion-kill-'));
}, PROCESS_TEST_TIMEOUT);

afterAll(async () => {
  if (server) server.child.kill('SIGKILL');
  await server?.exited;
  await db?.[Symbol.asyncDispose]();
  await rm(dataDir, { recursive: true, force: true });
}, PROCESS_TEST_TIMEOUT);

describe('an ingestion job whose process is killed', () => {
  it(
    'completes after the restart, and the document is searchable exactly once',
    async () => {
      await start();
      expect((await call('POST', '/collections', { name: 'ledger' })).status).toBe(200);
      const accepted = await call<CollectionDocument>(
        'POST',
        '/collections/ledger/documents?wait=0',
        { file_name: 'ledger.md', doc_path: 'ledger.md', content: bigMarkdown(8) },
      );
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const location = accepted.headers.get('location')?.replace(/^\/api/, '') ?? '';
      expect(location).toBe(`/collections/ledger/documents/${accepted.body.document_id}`);

      // Killed mid-job: some chunks embedded, none stored.
      const processing = await documentWhen(
        location,
        (d) => d.status !== 'queued' && (d.progress?.chunks_done ?? 0) > 0,
      );
      expect(processing.status, 'the job ended before it could be interrupted').toBe('processing');
      server?.child.kill('SIGKILL');
      await server?.exited;
      server = undefined;

      await start();
      const ready = await documentWhen(location, (d) => d.status === 'ready');
      expect(ready.chunks).toBeGreaterThan(processing.progress?.chunks_done ?? 0);
      expect(ready.chunks).toBe(processing.progress?.chunks_total);

      const collection = await call<Collection>('GET', '/collections/ledger');
      expect(collection.body).toMatchObject({ documents: 1, chunks: ready.chunks });
      const listed = await call<{ documents: CollectionDocument[] }>(
        'GET',
        '/collections/ledger/documents',
      );
      expect(listed.body.documents.map((d) => [d.document_id, d.status])).toEqual([
        [ready.document_id, 'ready'],
      ]);
      const search = await call<{ hits: RagHit[] }>('POST', '/collections/ledger/search', {
        query: `${NEEDLE} berth lifeboat`,
        top_k: 5,
      });
      expect(search.status).toBe(200);
      const needles = search.body.hits.filter((h) => h.document_string.includes(NEEDLE));
      expect(needles).toHaveLength(1);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
