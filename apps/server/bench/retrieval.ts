/**
 * npm run bench:retrieval — the vector index and the offline ingestion path, each measured next
 * to its raw baseline in the same run and printed as ratios:
 *   - inserts/s: hnswlib `addPoint` in a loop vs `CollectionVectorIndex.addInBatches` (which
 *     validates, grows capacity and yields to the event loop); the longest event-loop block;
 *   - chunks/s of `chunkDocument` + the hashing embedder on generated markdown;
 *   - query p50/p99 of `searchKnn` vs `CollectionVectorIndex.search`; recall@10 against exact
 *     brute force at the default ef;
 *   - bytes per chunk on disk and in memory (RSS growth while loading);
 *   - cold start: `VectorIndexStore.openAll` loading the persisted file vs rebuilding it.
 *
 * Data: BENCH_VECTORS (default 50 000) normalized 384-d vectors around BENCH_CLUSTERS (500) random
 * centres, from a seeded PRNG, so every run sees the same points.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { chunkDocument, chunkEmbeddingText } from '../src/ingestion/chunker';
import { createHashingEmbedder } from '../src/ingestion/embeddings/hashing-embedder';
import { labelSetChecksum } from '../src/retrieval/vector/label-set-checksum';
import {
  CollectionVectorIndex,
  DEFAULT_EF,
  DEFAULT_EF_CONSTRUCTION,
  DEFAULT_M,
  type VectorItem,
} from '../src/retrieval/vector/vector-index';
import {
  type ChunkVectorSource,
  VectorIndexStore,
} from '../src/retrieval/vector/vector-index-store';
import { seededRandom } from '../src/test-support/seeded-random';
import { readBenchEnv } from './bench-env';

const { HierarchicalNSW } = createRequire(import.meta.url)(
  'hnswlib-node',
) as typeof import('hnswlib-node');

const knobs = readBenchEnv();
const N = knobs.BENCH_VECTORS ?? 50_000;
const CLUSTERS = knobs.BENCH_CLUSTERS ?? 500;
const DIMS = 384;
const QUERIES = 200;
const QUERY_PASSES = 5;
const K = 10;
// Per-coordinate noise around a centre. At 0.1 a point's cosine to its centre is about 0.45 and
// to another point of its cluster about 0.2 (across clusters about 0): clustered, but not so
// tightly that any graph finds the neighbours. Recall is very sensitive to it — at 0.06 it is
// 1.000, at 0.12 about 0.89, at 0.15 (close to uniform noise, where "nearest" means little) 0.44.
const SIGMA = knobs.BENCH_SIGMA ?? 0.1;
const EF_SWEEP = [32, 64, 128, 256];

const run = promisify(execFile);
// A collectable heap makes the RSS reading about the index, not about garbage from earlier steps.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MEASURE_LOAD = '--measure-load-rss';
const random = seededRandom(20_240_601);

if (process.argv[2] === MEASURE_LOAD) await reportLoadRss(process.argv[3]!);
else await main();

async function main(): Promise<void> {
  const started = performance.now();

  // --- data -------------------------------------------------------------------------------------
  const centres = Array.from({ length: CLUSTERS }, () =>
    unit(Array.from({ length: DIMS }, gaussian)),
  );
  const around = (centre: number[]) => unit(centre.map((x) => x + SIGMA * gaussian()));
  const items: VectorItem[] = Array.from({ length: N }, (_, label) => ({
    label,
    vector: around(centres[Math.floor(random() * CLUSTERS)]!),
  }));
  const queries = Array.from({ length: QUERIES }, () =>
    around(centres[Math.floor(random() * CLUSTERS)]!),
  );

  // --- inserts ----------------------------------------------------------------------------------
  const raw = new HierarchicalNSW('cosine', DIMS);
  raw.initIndex({
    maxElements: N,
    m: DEFAULT_M,
    efConstruction: DEFAULT_EF_CONSTRUCTION,
    randomSeed: 100,
  });
  let t = performance.now();
  for (const { label, vector } of items) raw.addPoint(vector as number[], label);
  const rawInsertSeconds = (performance.now() - t) / 1000;
  raw.setEf(DEFAULT_EF);

  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const service = CollectionVectorIndex.create(DIMS); // default capacity: growth is part of the cost
  loopDelay.enable();
  t = performance.now();
  await service.addInBatches(items);
  const serviceInsertSeconds = (performance.now() - t) / 1000;
  loopDelay.disable();
  // p99 shows the slices; max also catches a GC pause or the OS taking the core away.
  const blockP99Ms = loopDelay.percentile(99) / 1e6;
  const maxBlockMs = loopDelay.max / 1e6;

  // --- chunking and embedding -------------------------------------------------------------------
  const documents = Array.from({ length: 250 }, generateMarkdown);
  const embedder = createHashingEmbedder();
  t = performance.now();
  const chunkTexts = documents.flatMap((content) =>
    chunkDocument(content, { contentType: 'text/markdown' }).map(chunkEmbeddingText),
  );
  const chunkSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await embedder.embed(chunkTexts);
  const embedSeconds = (performance.now() - t) / 1000;

  // --- queries ----------------------------------------------------------------------------------
  for (const q of queries.slice(0, 50)) {
    raw.searchKnn(q, K);
    service.search(q, K);
  }
  const rawLatencies: number[] = [];
  const serviceLatencies: number[] = [];
  for (let pass = 0; pass < QUERY_PASSES; pass++) {
    for (const q of queries) {
      // Interleaved, so machine noise lands on both alike.
      let s = performance.now();
      raw.searchKnn(q, K);
      rawLatencies.push(performance.now() - s);
      s = performance.now();
      service.search(q, K);
      serviceLatencies.push(performance.now() - s);
    }
  }

  const flat = new Float64Array(N * DIMS);
  items.forEach(({ vector }, i) => {
    flat.set(vector, i * DIMS);
  });
  let serviceHits = 0;
  let rawHits = 0;
  const exact = queries.map((q) => new Set(exactTopK(flat, q, K)));
  queries.forEach((q, i) => {
    for (const hit of service.search(q, K)) if (exact[i]!.has(hit.label)) serviceHits++;
    for (const label of raw.searchKnn(q, K).neighbors) if (exact[i]!.has(label)) rawHits++;
  });
  const serviceRecall = serviceHits / (QUERIES * K);
  const rawRecall = rawHits / (QUERIES * K);
  const sweep = EF_SWEEP.map((ef) => {
    service.ef = ef;
    let hits = 0;
    queries.forEach((q, i) => {
      for (const hit of service.search(q, K)) if (exact[i]!.has(hit.label)) hits++;
    });
    return `${ef}: ${(hits / (QUERIES * K)).toFixed(3)}`;
  });
  service.ef = DEFAULT_EF;

  // --- persistence and cold start ---------------------------------------------------------------
  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-retrieval-'));
  const file = path.join(dataDir, 'indexes', 'bench.hnsw');
  await service.save(file);
  const fileBytes = (await stat(file)).size;

  const rssPerChunk = await loadRssInChild(file);

  const source: ChunkVectorSource = {
    collectionIds: async () => ['bench'],
    dimensions: async () => DIMS,
    fingerprint: async () => ({ count: N, checksum: labelSetChecksum(items.map((i) => i.label)) }),
    async *vectors(_id, batchSize) {
      for (let i = 0; i < items.length; i += batchSize) yield items.slice(i, i + batchSize);
    },
  };
  const openStore = async () => {
    const store = new VectorIndexStore({
      directory: path.dirname(file),
      source,
      persistDelayMs: null,
      // Never called without background writes; a bench would rather crash than measure on.
      onPersistError: (error) => {
        throw error;
      },
    });
    const s = performance.now();
    const report = await store.openAll();
    const seconds = (performance.now() - s) / 1000;
    await store.close();
    return { report, seconds };
  };
  const warm = await openStore();
  await rm(file);
  const cold = await openStore();
  if (warm.report.loaded.length !== 1 || cold.report.rebuilt.length !== 1) {
    throw new Error(`unexpected open reports: ${JSON.stringify([warm.report, cold.report])}`);
  }
  await rm(dataDir, { recursive: true, force: true });

  // --- report -----------------------------------------------------------------------------------
  const rawRate = N / rawInsertSeconds;
  const serviceRate = N / serviceInsertSeconds;
  const rawP50 = percentile(rawLatencies, 50);
  const rawP99 = percentile(rawLatencies, 99);
  const serviceP50 = percentile(serviceLatencies, 50);
  const serviceP99 = percentile(serviceLatencies, 99);
  const loadSpeedup = cold.seconds / warm.seconds;

  const fmt = (x: number, digits = 0) =>
    x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const row = (name: string, rawCell: string, serviceCell: string, ratio: string) =>
    console.log(
      `${name.padEnd(30)}${rawCell.padStart(14)}${serviceCell.padStart(14)}${ratio.padStart(14)}`,
    );

  console.log(
    `bench:retrieval — ${fmt(N)} × ${DIMS}-d clustered vectors (${CLUSTERS} clusters, σ ${SIGMA}), ` +
      `M ${DEFAULT_M}, efConstruction ${DEFAULT_EF_CONSTRUCTION}, ef ${DEFAULT_EF}, k ${K}, ` +
      `node ${process.version}`,
  );
  row('measure', 'raw hnswlib', 'service', 'service/raw');
  row('insert, points/s', fmt(rawRate), fmt(serviceRate), fmt(serviceRate / rawRate, 2));
  row(
    'event-loop block p99/max, ms',
    fmt(rawInsertSeconds * 1000),
    `${fmt(blockP99Ms, 1)}/${fmt(maxBlockMs, 1)}`,
    '',
  );
  row('query p50, ms', fmt(rawP50, 3), fmt(serviceP50, 3), fmt(serviceP50 / rawP50, 2));
  row('query p99, ms', fmt(rawP99, 3), fmt(serviceP99, 3), fmt(serviceP99 / rawP99, 2));
  row(`recall@${K} (${QUERIES} queries)`, fmt(rawRecall, 3), fmt(serviceRecall, 3), '');
  row(
    'cold start, s',
    `rebuild ${fmt(cold.seconds, 2)}`,
    `load ${fmt(warm.seconds, 2)}`,
    `${fmt(loadSpeedup, 1)}× faster`,
  );
  row('index file, bytes/chunk', '', fmt(fileBytes / N), '');
  row('RSS growth on load, bytes/chunk', '', fmt(rssPerChunk), '');
  console.log(`recall@${K} by ef (service): ${sweep.join(', ')}`);
  console.log(
    `chunk + embed (hashing): ${fmt(chunkTexts.length / (chunkSeconds + embedSeconds))} chunks/s ` +
      `(${fmt(chunkTexts.length)} chunks of ${fmt(documents.length)} docs; chunking ` +
      `${fmt(chunkTexts.length / chunkSeconds)}/s, embedding ${fmt(chunkTexts.length / embedSeconds)}/s)`,
  );

  const verdict = (ok: boolean, text: string) => console.log(`${ok ? 'PASS' : 'FAIL'} ${text}`);
  verdict(serviceRecall >= 0.95, `recall@${K} ${fmt(serviceRecall, 3)} ≥ 0.95`);
  verdict(
    serviceP99 <= 2 * rawP99,
    `service query p99 ${fmt(serviceP99 / rawP99, 2)}× raw p99 ≤ 2×`,
  );
  verdict(loadSpeedup >= 5, `load ${fmt(loadSpeedup, 1)}× faster than rebuild ≥ 5×`);
  console.log(`total ${fmt((performance.now() - started) / 1000, 1)} s`);
}

// --- helpers ----------------------------------------------------------------------------------
/**
 * Memory of a loaded index, measured in a fresh process: in this one, the heap left by the steps
 * before would drown it.
 */
async function loadRssInChild(file: string): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await run(process.execPath, [...process.execArgv, script, MEASURE_LOAD, file]);
  const { before, after, count } = JSON.parse(stdout) as Record<string, number>;
  return (after! - before!) / count!;
}

async function reportLoadRss(file: string): Promise<void> {
  collectGarbage();
  const before = process.memoryUsage().rss;
  const index = await CollectionVectorIndex.load(file, DIMS);
  collectGarbage();
  const after = process.memoryUsage().rss;
  process.stdout.write(JSON.stringify({ before, after, count: index.count }));
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function unit(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function exactTopK(vectors: Float64Array, query: number[], k: number): number[] {
  const scores = new Float64Array(vectors.length / DIMS);
  for (let i = 0; i < scores.length; i++) {
    let dot = 0;
    const offset = i * DIMS;
    for (let j = 0; j < DIMS; j++) dot += vectors[offset + j]! * query[j]!;
    scores[i] = dot;
  }
  return Array.from(scores.keys())
    .sort((a, b) => scores[b]! - scores[a]!)
    .slice(0, k);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function generateMarkdown(): string {
  const syllables = ['ka', 'lo', 'mi', 'ren', 'sta', 'vor', 'qui', 'del', 'ton', 'bra', 'fe', 'zu'];
  const word = () => {
    // Few syllables are likely, many are rare: a vocabulary with a long tail, like prose.
    const n = 1 + Math.floor(-Math.log(1 - random()) * 1.2);
    return Array.from({ length: n }, () => syllables[Math.floor(random() * syllables.length)]).join(
      '',
    );
  };
  const sentence = () => {
    const words = Array.from({ length: 6 + Math.floor(random() * 18) }, word);
    return `${words.join(' ')}.`.replace(/^./, (c) => c.toUpperCase());
  };
  const paragraph = () => Array.from({ length: 2 + Math.floor(random() * 6) }, sentence).join(' ');
  const parts = [`# ${word()} ${word()}`];
  for (let s = 0; s < 4; s++) {
    parts.push(`## ${word()} ${word()}`);
    for (let p = 0; p < 4; p++) parts.push(paragraph());
  }
  return parts.join('\n\n');
}
