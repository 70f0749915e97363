/**
 * npm run bench:chat — the chat route with the offline model over a collection of ≥10k chunks,
 * at concurrency 1 and 32, next to the same retrieval called alone (the collection search route
 * with the persona's top_k, metric, threshold and mode), as ratios from one run.
 *
 * Env: BENCH_SECONDS (per measurement, default 4), BENCH_CHUNKS (default 10000),
 * BENCH_DATABASE_URL (default: in-memory PGlite).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthUser } from '@personas/contracts';
import { createApp } from '../src/app';
import { connectDatabase } from '../src/db/connect';
import { loadConfig } from '../src/env';
import { percentile, runLoad } from './load';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const targetChunks = Number(process.env.BENCH_CHUNKS ?? 10_000);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? null;

const TOPICS = [
  'refund policy',
  'shipping times',
  'warranty claims',
  'account security',
  'billing cycles',
  'data retention',
  'api rate limits',
  'team permissions',
  'invoice disputes',
  'password resets',
  'export formats',
  'mobile sync',
  'offline mode',
  'webhook retries',
  'audit logs',
  'sso setup',
];
const VERBS = ['explains', 'describes', 'covers', 'details', 'summarises', 'outlines'];

/** Deterministic pseudo-random text: a seeded generator so every run ingests the same corpus. */
function generator(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function paragraph(rand: () => number, n: number): string {
  const topic = TOPICS[Math.floor(rand() * TOPICS.length)]!;
  const verb = VERBS[Math.floor(rand() * VERBS.length)]!;
  const sentences = Array.from(
    { length: 6 },
    (_, i) =>
      `Section ${n}.${i} ${verb} ${topic}: step ${Math.floor(rand() * 90) + 10} applies when the ${
        TOPICS[Math.floor(rand() * TOPICS.length)]
      } rule and the ${TOPICS[Math.floor(rand() * TOPICS.length)]} rule both hold for customer ${Math.floor(rand() * 9000) + 1000}.`,
  );
  return sentences.join(' ');
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-chat-'));
const database = await connectDatabase({ databaseUrl, dataDir: null });
const config = loadConfig({
  LOG_LEVEL: 'silent',
  DATA_DIR: dataDir,
  NODE_ENV: 'production',
  CHAT_RATE_LIMIT_PER_MINUTE: '100000000',
});
const app = await createApp({ ...config, database });
const url = await app.http.listen({ host: '127.0.0.1', port: 0 });

const session = await app.services.auth.register({
  email: `bench-${Date.now()}@example.com`,
  password: 'bench-password',
});
await app.db
  .updateTable('users')
  .set({ role: 'admin' })
  .where('id', '=', session.user_id)
  .execute();
const actor = (await app.authenticate(session.token)) as AuthUser;

const collection = `bench-${Date.now()}`;
await app.services.collections.create(actor, { name: collection, visibility: 'shared' });
const rand = generator(42);
const ingestStart = performance.now();
let chunks = 0;
for (let doc = 0; chunks < targetChunks; doc++) {
  const content = Array.from({ length: 50 }, (_, i) => paragraph(rand, doc * 50 + i)).join('\n\n');
  const added = await app.services.collections.addDocument(actor, {
    name: collection,
    file_name: `doc-${doc}.txt`,
    content,
  });
  chunks += added.chunks;
}
const ingestSeconds = (performance.now() - ingestStart) / 1000;

const persona = await app.services.personas.build(actor, {
  persona_name: 'Bench persona',
  system_prompt: 'You answer questions about the product handbook.',
  rag: { db_collections: [collection] },
});
const stored = await app.services.personas.get(actor, persona.persona_id);
const question = 'Which step applies to warranty claims and the billing cycles rule?';
const headers = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };
const targets = {
  'retrieval alone': {
    url: `${url}/api/collections/${collection}/search`,
    body: JSON.stringify({
      query: question,
      top_k: stored.rag.top_k,
      metric: stored.rag.query_metric,
      threshold: stored.rag.query_threshold,
      mode: stored.rag.mode,
    }),
  },
  'chat (offline)': {
    url: `${url}/api/personas/${persona.persona_id}/chat`,
    body: JSON.stringify({ content: question }),
  },
} as const;
type Target = keyof typeof targets;

for (const t of Object.values(targets)) {
  await runLoad({ ...t, method: 'POST', headers, concurrency: 4, durationMs: 500 });
}

console.log(
  `bench:chat — ${chunks} chunks (${database.kind}), persona top_k ${stored.rag.top_k}, mode ${stored.rag.mode}; ` +
    `ingestion ${ingestSeconds.toFixed(1)} s (${(chunks / ingestSeconds).toFixed(0)} chunks/s end to end)`,
);
console.log(
  'concurrency  target            req/s    p50 ms    p99 ms   req/s vs retrieval   p99 vs retrieval   errors',
);
for (const concurrency of [1, 32]) {
  const results = {} as Record<Target, { rps: number; p50: number; p99: number; errors: number }>;
  for (const [name, t] of Object.entries(targets) as [Target, (typeof targets)[Target]][]) {
    const r = await runLoad({
      ...t,
      method: 'POST',
      headers,
      concurrency,
      durationMs: seconds * 1000,
    });
    const sorted = r.latenciesMs.sort((a, b) => a - b);
    results[name] = {
      rps: r.requests / r.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      errors: r.errors,
    };
  }
  const base = results['retrieval alone'];
  for (const name of Object.keys(results) as Target[]) {
    const s = results[name];
    console.log(
      `${String(concurrency).padStart(11)}  ${name.padEnd(16)} ${s.rps.toFixed(0).padStart(6)}  ${s.p50
        .toFixed(2)
        .padStart(
          8,
        )}  ${s.p99.toFixed(2).padStart(8)}   ${(s.rps / base.rps).toFixed(2).padStart(18)}   ${(
        s.p99 / base.p99
      )
        .toFixed(2)
        .padStart(16)}   ${String(s.errors).padStart(6)}`,
    );
  }
}

await app.close();
await database.db.destroy();
await rm(dataDir, { recursive: true, force: true });
