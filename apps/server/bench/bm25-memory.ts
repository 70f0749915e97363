/**
 * The lexical index's memory per chunk, the figure that decides how many chunks one server holds:
 *   node --expose-gc --import tsx apps/server/bench/bm25-memory.ts [chunks] [scifact-dir]
 * (chunks: default 100 000; scifact-dir: default `SCIFACT_DIR`).
 *
 * Chunk texts are ~800 characters of SciFact sentences picked at random (seeded, so every run
 * indexes the same text), which gives a real vocabulary and real term frequencies at any size.
 * Memory is heapUsed + external after a full GC, before and after: building a `Bm25Index` by
 * batched `add` (the ingestion path) and loading it with `fromBinary(toBinary())` (the start-up
 * path). Also printed: the time of add / toBinary / fromBinary and the p50/p99 of
 * `search(query, k)` over the 300 SciFact test queries, for k = 100 and for the k the retriever
 * asks for (CANDIDATES_PER_RETRIEVER, 50).
 */
import { Bm25Index } from '../src/retrieval/lexical/bm25-index';
import { seededRandom } from '../src/test-support/seeded-random';
import { percentile } from './load';
import { loadScifact } from './scifact';

const CHUNKS = Number(process.argv[2] ?? 100_000);
const CHUNK_CHARACTERS = 800;
const BATCH = 1000;
const SEARCH_ROUNDS = 3;
// 100, and the retriever's CANDIDATES_PER_RETRIEVER (what hybrid search asks the lexical index for).
const SEARCH_KS = [100, 50];

if (!Number.isSafeInteger(CHUNKS) || CHUNKS < 1) {
  throw new Error(`usage: bm25-memory.ts [chunks], got ${process.argv[2]}`);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

/**
 * Live bytes after a full collection. `external` already includes `arrayBuffers` (Node's
 * documentation), so the two are not added: that would count typed-array backing stores twice.
 */
function liveBytes(): { total: number; heap: number; external: number } {
  for (let i = 0; i < 3; i++) gc!();
  const { heapUsed, external } = process.memoryUsage();
  return { total: heapUsed + external, heap: heapUsed, external };
}

function perChunk(before: ReturnType<typeof liveBytes>, after: ReturnType<typeof liveBytes>) {
  const per = (key: 'total' | 'heap' | 'external') =>
    ((after[key] - before[key]) / CHUNKS).toFixed(0);
  return `${per('total')} B/chunk (heap ${per('heap')}, typed arrays/external ${per('external')})`;
}

const scifact = await loadScifact(process.argv[3]);
const sentences = scifact.corpus.flatMap((document) =>
  `${document.title}. ${document.text}`.split(/(?<=[.!?])\s+/).filter((s) => s.length >= 20),
);
const queries = scifact.queries.map((query) => query.text);
const random = seededRandom(7);

/** Whole sentences while the text stays nearest to CHUNK_CHARACTERS, as the chunker cuts. */
function chunkText(): string {
  const pick = () => sentences[Math.floor(random() * sentences.length)]!;
  let text = pick();
  for (let next = pick(); text.length + next.length / 2 < CHUNK_CHARACTERS; next = pick()) {
    text += ` ${next}`;
  }
  return text;
}

const beforeBuild = liveBytes();
let index: Bm25Index | undefined = new Bm25Index();
let addMs = 0;
let characters = 0;
for (let first = 0; first < CHUNKS; first += BATCH) {
  // Texts made per batch and dropped after it, so they stay out of the measurement.
  const items = Array.from({ length: Math.min(BATCH, CHUNKS - first) }, (_, i) => ({
    label: first + i + 1,
    text: chunkText(),
  }));
  for (const item of items) characters += item.text.length;
  const start = performance.now();
  index.add(items);
  addMs += performance.now() - start;
}
const afterBuild = liveBytes();

let start = performance.now();
const image = index.toBinary();
const saveMs = performance.now() - start;

const built = SEARCH_KS.map((k) => searchTimes(index!, k));
index = undefined;
const beforeLoad = liveBytes();
start = performance.now();
const loaded = Bm25Index.fromBinary(image);
const loadMs = performance.now() - start;
const afterLoad = liveBytes();
const reloaded = SEARCH_KS.map((k) => searchTimes(loaded, k));

function searchTimes(target: Bm25Index, k: number): number[] {
  for (const query of queries) target.search(query, k); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < SEARCH_ROUNDS; round++) {
    for (const query of queries) {
      const began = performance.now();
      target.search(query, k);
      samples.push(performance.now() - began);
    }
  }
  return samples.sort((x, y) => x - y);
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 3 : 0)} ms`;
const latency = (samples: number[]) =>
  `p50 ${ms(percentile(samples, 50))}, p99 ${ms(percentile(samples, 99))}`;
console.log(
  `${CHUNKS} chunks of ${(characters / CHUNKS).toFixed(0)} characters, ` +
    `${loaded.count} live, image ${(image.length / CHUNKS).toFixed(0)} B/chunk`,
);
console.log(`built by add:        ${perChunk(beforeBuild, afterBuild)}`);
console.log(`loaded from image:   ${perChunk(beforeLoad, afterLoad)}`);
console.log(
  `add ${ms(addMs)} (${((addMs * 1000) / CHUNKS).toFixed(1)} µs/chunk), ` +
    `toBinary ${ms(saveMs)}, fromBinary ${ms(loadMs)}`,
);
SEARCH_KS.forEach((k, i) => {
  console.log(
    `search(query, ${k}) over ${queries.length}×${SEARCH_ROUNDS}: built ${latency(built[i]!)}; ` +
      `loaded ${latency(reloaded[i]!)}`,
  );
});
