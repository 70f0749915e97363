/**
 * npm run bench:chat — the chat route with the offline model over a collection of ≥10k chunks,
 * at concurrency 1 and 32, next to the same retrieval called alone (the collection search route
 * with the persona's top_k, metric, threshold and mode), as ratios from one run.
 *
 * Env: BENCH_SECONDS (per measurement, default 4), BENCH_CHUNKS (default 10000),
 * BENCH_DATABASE_URL (default: in-memory PGlite).
 */
import { seededRandom } from '../src/test-support/seeded-random';
import { startBenchApp } from './bench-app';
import { readBenchEnv } from './bench-env';
import { percentile, runLoad } from './load';

const knobs = readBenchEnv();
const seconds = knobs.BENCH_SECONDS ?? 4;
const targetChunks = knobs.BENCH_CHUNKS ?? 10_000;

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

await using bench = await startBenchApp('admin', { CHAT_RATE_LIMIT_PER_MINUTE: '100000000' });
const { app, actor, url } = bench;

const collection = `bench-${Date.now()}`;
await app.services.collections.create(actor, { name: collection, visibility: 'shared' });
const rand = seededRandom(42);
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
const headers = { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' };
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
  // The same persona through the OpenAI-compatible route (stateless: it stores no history).
  '/v1 completion': {
    url: `${url}/v1/chat/completions`,
    body: JSON.stringify({
      model: persona.persona_id,
      messages: [{ role: 'user', content: question }],
    }),
  },
} as const;
type Target = keyof typeof targets;

for (const t of Object.values(targets)) {
  await runLoad({ ...t, method: 'POST', headers, concurrency: 4, durationMs: 500 });
}

console.log(
  `bench:chat — ${chunks} chunks (${bench.databaseKind}), persona top_k ${stored.rag.top_k}, mode ${stored.rag.mode}; ` +
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
  const chat = results['chat (offline)'];
  const v1 = results['/v1 completion'];
  console.log(
    `${String(concurrency).padStart(11)}  /v1 vs persona chat: req/s ${(v1.rps / chat.rps).toFixed(2)}x, p99 ${(v1.p99 / chat.p99).toFixed(2)}x (goal: req/s >= 0.9x)`,
  );
}
