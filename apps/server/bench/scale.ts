/**
 * npm run bench:scale — one collection grown through the REST API to 10^4, 10^5 and N chunks on a
 * real server process, measured at each size, on PGlite and (when a Postgres URL is given) on
 * Postgres, next to the raw index insert rate measured in the same run.
 *
 *   npm run bench:scale -- [--chunks N] [--sizes a,b,c] [--pglite-max N] [--only pglite|postgres]
 *   npm run bench:scale -- --quick        # sizes 2,000 and 5,000: the whole bench in a minute or two
 *   npm run bench:scale -- --chunks 1000000   # sizes 10,000, 100,000 and 1,000,000 (hours)
 *
 * --chunks N     the largest size (default 200,000); the sizes are 10,000, 100,000 and N (those < N)
 * --sizes a,b,c  the sizes instead (the largest is N)
 * --pglite-max N PGlite grows only to sizes ≤ N (default N)
 * --only T       only PGlite or only Postgres
 * Postgres runs when DATABASE_URL (or BENCH_DATABASE_URL) names a server: a database is created on
 * it for the run and dropped afterwards. PGlite (no DATABASE_URL, its own DATA_DIR) always runs.
 *
 * The text: synthetic Markdown recombined from SciFact sentences, seeded. The corpus is split into
 * sentences once; document i (seeded by i, so both targets get the same documents) is a `# title`
 * line (a corpus title) and paragraphs of 4–8 random sentences, sized so the server's chunker
 * (800 characters, 100 overlap) makes about CHUNKS_PER_DOCUMENT chunks. The chunk counts reported
 * are the ones the server answered (`chunks` of each ready document), checked against the
 * collection's own count.
 *
 * Growth: UPLOADERS concurrent JSON uploads (`POST /collections/scale/documents?wait=60`; a 200
 * means ready and searchable through that process; a 202 is polled until `ready`). The ingest rate
 * of a size is the chunks added in its segment / the segment's wall time.
 *
 * Raw index insert rate (in this process, first, while no server runs): a sample of the same text
 * (RAW_SAMPLE_CHUNKS chunks, chunked by the server's chunker) embedded by the server's default
 * offline hashing embedder and inserted into a fresh CollectionVectorIndex and Bm25Index.
 *
 * At each size: the 300 SciFact test queries (cycled), top_k 10, hybrid and vector: sequential
 * (20 warm-up, then 300) p50/p99 and the server's CPU per query (utime+stime, /proc/<pid>/stat);
 * 8 concurrent (600 queries) p50/p99 and queries/s; the server's RSS and its growth per chunk over
 * the empty server's (measured once ready, before the first upload, on the start after the one that
 * created the database: PGlite's initdb leaves the first process ~2x larger for its whole life);
 * bytes written by the target's server processes per chunk (/proc/<pid>/io write_bytes since the
 * first start, database creation, restarts and shutdowns included) and size on disk per chunk
 * (DATA_DIR, plus pg_database_size on Postgres: measured after the stop, indexes saved). Then a
 * clean stop (SIGTERM) timed, and a restart on the same DATA_DIR and database: spawn → listening
 * and spawn → `/readyz` 200, with what `/readyz` says the start did (loaded, replayed, rebuilt).
 * Growth goes on through the restarted process. The machine is noisy: compare ratios.
 *
 * On Postgres, RSS, CPU and written bytes are the Node process's only (Postgres's own processes
 * are not counted); on PGlite the database runs inside it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { adminEnv } from '../../../test/support/fixtures';
import { rest } from '../../../test/support/rest';
import { type ServerProcess, startServerProcess } from '../../../test/support/server-process';
import { readProcessEnv } from '../src/env';
import {
  chunkDocument,
  chunkEmbeddingText,
  DEFAULT_CHUNK_OVERLAP,
  DEFAULT_CHUNK_SIZE,
} from '../src/ingestion/chunker';
import { createHashingEmbedder } from '../src/ingestion/embeddings/hashing-embedder';
import { Bm25Index } from '../src/retrieval/lexical/bm25-index';
import { loadBm25Image } from '../src/retrieval/lexical/bm25-index-file';
import { CollectionVectorIndex } from '../src/retrieval/vector/vector-index';
import { seededRandom } from '../src/test-support/seeded-random';
import { readBenchEnv } from './bench-env';
import {
  call,
  clockTicksPerSecond,
  cpuTicks,
  databaseSize,
  diskUsage,
  login,
  percentile,
  type ReadyTimes,
  rssBytes,
  type Stopped,
  serverWarnings,
  stopGracefully,
  timeToReady,
  withDatabase,
} from './bench-server';
import { loadScifact } from './scifact';

const COLLECTION = 'scale';
/** About this many chunks per uploaded document (~120 KB of Markdown). */
const CHUNKS_PER_DOCUMENT = 200;
const UPLOADERS = 4;
/** Seconds an upload waits for its document to be ready before the route answers 202. */
const UPLOAD_WAIT_SECONDS = 60;
/** The longest a document may take to be ready (upload + polling) before the bench gives up. */
const DOCUMENT_BOUND_MS = 15 * 60_000;
const TOP_K = 10;
const WARM_UP = 20;
const SEQUENTIAL_QUERIES = 300;
const CONCURRENCY = 8;
const CONCURRENT_QUERIES = 600;
const SEARCH_TIMEOUT_MS = 60_000;
const MODES = ['hybrid', 'vector'] as const;
type Mode = (typeof MODES)[number];
type Target = 'PGlite' | 'Postgres';

// ---------------------------------------------------------------------------------------------
// Command line

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string' },
    sizes: { type: 'string' },
    'pglite-max': { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
  strict: true,
});

function positiveInteger(name: string, text: string): number {
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${name} must be a positive whole number, got ${JSON.stringify(text)}`);
  }
  return value;
}

const quick = args.quick === true;
const largest = args.chunks ? positiveInteger('chunks', args.chunks) : quick ? 5_000 : 200_000;
const sizes = [
  ...new Set(
    args.sizes
      ? args.sizes.split(',').map((s) => positiveInteger('sizes', s.trim()))
      : quick
        ? [2_000, 5_000].filter((s) => s < largest).concat(largest)
        : [10_000, 100_000].filter((s) => s < largest).concat(largest),
  ),
].sort((a, b) => a - b);
const maxSize = sizes[sizes.length - 1]!;
const pgliteMax = args['pglite-max'] ? positiveInteger('pglite-max', args['pglite-max']) : maxSize;
if (args.only !== undefined && args.only !== 'pglite' && args.only !== 'postgres') {
  throw new Error(`--only must be pglite or postgres, got ${JSON.stringify(args.only)}`);
}
const RAW_SAMPLE_CHUNKS = quick ? 5_000 : 20_000;
/** Chunks inserted into the server's checkpoint at each size for the raw rate at that size. */
const RAW_AT_SIZE_CHUNKS = quick ? 1_000 : 5_000;

const processEnv = readProcessEnv();
const postgresServerUrl = processEnv.DATABASE_URL || readBenchEnv().BENCH_DATABASE_URL || null;
if (postgresServerUrl && !/^postgres(ql)?:\/\//.test(postgresServerUrl)) {
  throw new Error('DATABASE_URL must be a postgres:// URL');
}
const runPglite = args.only !== 'postgres' && sizes.some((s) => s <= pgliteMax);
const runPostgres = args.only !== 'pglite' && postgresServerUrl !== null;
if (args.only === 'postgres' && !postgresServerUrl) {
  throw new Error('--only postgres needs DATABASE_URL (or BENCH_DATABASE_URL)');
}

const serverEnv = (databaseUrl: string | null): Record<string, string> => ({
  ...adminEnv(),
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  // As bench:replicas. Nothing in env.ts bounds a collection's chunks, a user's documents or
  // searches; the documents (~150 KB) are far below BODY_LIMIT_BYTES and DOCUMENT_LIMIT_BYTES.
  CHAT_RATE_LIMIT_PER_MINUTE: '1000000',
});

// ---------------------------------------------------------------------------------------------
// Text

/** Synthetic Markdown recombined from SciFact sentences: document i is the same in every run. */
class MarkdownSource {
  readonly #sentences: string[];
  readonly #titles: string[];
  #documentChars = CHUNKS_PER_DOCUMENT * 700;

  constructor(corpus: { title: string; text: string }[]) {
    this.#titles = corpus.map((d) => d.title.trim()).filter((t) => t.length > 0);
    this.#sentences = corpus.flatMap((d) =>
      d.text
        .split(/(?<=[.!?])\s+(?=[A-Z0-9(])/)
        .map((s) => s.trim())
        .filter((s) => s.length >= 20 && s.length <= 600),
    );
  }

  get sentenceCount() {
    return this.#sentences.length;
  }

  /** Sizes the documents so the server's chunker cuts about CHUNKS_PER_DOCUMENT from each. */
  calibrate(): { charsPerChunk: number; meanChunkLength: number; documentChars: number } {
    let chars = 0;
    let chunkChars = 0;
    let chunks = 0;
    for (let i = 0; i < 5; i++) {
      const text = this.document(1_000_000 + i);
      const cut = chunkMarkdown(text);
      chars += text.length;
      chunks += cut.length;
      for (const chunk of cut) chunkChars += chunk.text.length;
    }
    const charsPerChunk = chars / chunks;
    this.#documentChars = Math.round(CHUNKS_PER_DOCUMENT * charsPerChunk);
    return {
      charsPerChunk,
      meanChunkLength: chunkChars / chunks,
      documentChars: this.#documentChars,
    };
  }

  document(index: number): string {
    const random = seededRandom(0x5ca1e + index * 7919);
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
    let text = `# ${pick(this.#titles)}\n\n`;
    while (text.length < this.#documentChars) {
      // Longer than a chunk mostly: cut at sentences and packed to near 800 characters.
      const sentences = 4 + Math.floor(random() * 5);
      const paragraph = Array.from({ length: sentences }, () => pick(this.#sentences)).join(' ');
      text += `${paragraph}\n\n`;
    }
    return text;
  }
}

const chunkMarkdown = (text: string) =>
  chunkDocument(text, {
    contentType: 'text/markdown',
    targetSize: DEFAULT_CHUNK_SIZE,
    overlap: DEFAULT_CHUNK_OVERLAP,
  });

// ---------------------------------------------------------------------------------------------
// Raw index insert rate

/** `count` embedding texts of the same kind, from documents `firstDocument` on. */
function sampleTexts(source: MarkdownSource, firstDocument: number, count: number): string[] {
  const texts: string[] = [];
  for (let i = firstDocument; texts.length < count; i++) {
    for (const chunk of chunkMarkdown(source.document(i))) texts.push(chunkEmbeddingText(chunk));
  }
  texts.length = count;
  return texts;
}

/** Embedding + HNSW + BM25 inserts of `texts` into these indexes, in this process: chunks/s. */
async function insertRate(
  texts: string[],
  vectors: CollectionVectorIndex,
  lexical: Bm25Index,
  firstLabel: number,
) {
  const embedder = createHashingEmbedder();
  const batch = 16; // as the ingestion job embeds
  const started = performance.now();
  for (let i = 0; i < texts.length; i += batch) {
    const slice = texts.slice(i, i + batch);
    const embedded = await embedder.embed(slice);
    vectors.add(embedded.map((vector, j) => ({ label: firstLabel + i + j, vector })));
    lexical.add(slice.map((text, j) => ({ label: firstLabel + i + j, text })));
  }
  const seconds = (performance.now() - started) / 1000;
  return { chunks: texts.length, seconds, rate: texts.length / seconds };
}

/** Into fresh, empty indexes: the rate the run starts from. */
function rawIndexRate(source: MarkdownSource) {
  const texts = sampleTexts(source, 0, RAW_SAMPLE_CHUNKS);
  return insertRate(
    texts,
    CollectionVectorIndex.create(createHashingEmbedder().dimensions),
    new Bm25Index(),
    0,
  );
}

/**
 * Into the server's own checkpoints (its DATA_DIR after a clean stop), loaded in this process:
 * what inserting costs at this size, HNSW's search for neighbours growing with the graph — the
 * rate ingestion at this size is compared with. Null when the stop left no checkpoint.
 */
async function rawIndexRateAtSize(source: MarkdownSource, dataDir: string) {
  const directory = path.join(dataDir, 'indexes');
  const file = (await readdir(directory)).find((name) => name.endsWith('.hnsw'));
  if (!file) return null;
  const dimensions = createHashingEmbedder().dimensions;
  const vectors = await CollectionVectorIndex.load(path.join(directory, file), dimensions);
  const image = await loadBm25Image(
    path.join(dataDir, 'lexical-indexes', file.replace(/\.hnsw$/, '.bm25')),
  );
  // Documents no upload reaches; labels above every chunk id of the run.
  const texts = sampleTexts(source, 10_000_000, RAW_AT_SIZE_CHUNKS);
  const rate = await insertRate(texts, vectors, image?.index ?? new Bm25Index(), 2_000_000_000);
  globalThis.gc?.();
  return rate;
}

// ---------------------------------------------------------------------------------------------
// Growth

interface DocumentAnswer {
  document_id: string;
  status: 'queued' | 'processing' | 'ready' | 'failed';
  chunks: number;
  error?: { code: string; detail: string };
}

/** Uploads one document and waits (bounded) until it is ready; answers its chunk count. */
async function upload(url: string, token: string, index: number, content: string) {
  const begun = performance.now();
  const answer = await call<DocumentAnswer>(
    url,
    token,
    'POST',
    `/collections/${COLLECTION}/documents?wait=${UPLOAD_WAIT_SECONDS}`,
    { file_name: `scale-${index}.md`, content, content_type: 'text/markdown' },
    (UPLOAD_WAIT_SECONDS + 120) * 1000,
  );
  let document = answer.body;
  while (document.status === 'queued' || document.status === 'processing') {
    if (performance.now() - begun > DOCUMENT_BOUND_MS) {
      throw new Error(`document ${index} not ready within ${DOCUMENT_BOUND_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    document = (
      await call<DocumentAnswer>(
        url,
        token,
        'GET',
        `/collections/${COLLECTION}/documents/${document.document_id}`,
      )
    ).body;
  }
  if (document.status !== 'ready') {
    throw new Error(`document ${index} ${document.status}: ${JSON.stringify(document.error)}`);
  }
  return document.chunks;
}

interface Growth {
  /** Chunks the server answered for the documents uploaded so far. */
  chunks: number;
  documents: number;
  nextDocument: number;
  /** Wall time spent growing, all segments. */
  seconds: number;
}

/** Grows the collection to at least `target` chunks, UPLOADERS documents at a time. */
async function grow(
  url: string,
  token: string,
  source: MarkdownSource,
  growth: Growth,
  target: number,
) {
  const before = growth.chunks;
  const begun = performance.now();
  let inFlight = 0;
  const perDocument = () =>
    growth.documents === 0 ? CHUNKS_PER_DOCUMENT : growth.chunks / growth.documents;
  const progress = setInterval(() => {
    const seconds = (performance.now() - begun) / 1000;
    console.log(
      `    … ${int(growth.chunks)} chunks (${int((growth.chunks - before) / seconds)} chunks/s in this segment)`,
    );
  }, 60_000);
  try {
    const uploader = async () => {
      while (growth.chunks + inFlight * perDocument() < target) {
        const index = growth.nextDocument++;
        inFlight++;
        try {
          const chunks = await upload(url, token, index, source.document(index));
          growth.chunks += chunks;
          growth.documents++;
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: UPLOADERS }, uploader));
  } finally {
    clearInterval(progress);
  }
  const seconds = (performance.now() - begun) / 1000;
  growth.seconds += seconds;
  return { chunks: growth.chunks - before, seconds, rate: (growth.chunks - before) / seconds };
}

// ---------------------------------------------------------------------------------------------
// Search

interface SearchFigures {
  seqP50: number;
  seqP99: number;
  cpuMsPerQuery: number;
  c8P50: number;
  c8P99: number;
  c8Qps: number;
  meanHits: number;
}

async function searchOnce(url: string, token: string, query: string, mode: Mode) {
  const begun = performance.now();
  const answer = await rest<{ hits: unknown[] }>(url, {
    method: 'POST',
    path: `/collections/${COLLECTION}/search`,
    token,
    body: { query, top_k: TOP_K, mode },
    signal: AbortSignal.timeout(SEARCH_TIMEOUT_MS),
  });
  const ms = performance.now() - begun;
  if (answer.status !== 200) {
    throw new Error(`search (${mode}): ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return { ms, hits: answer.body.hits.length };
}

async function searchFigures(
  server: ServerProcess,
  token: string,
  queries: string[],
  mode: Mode,
  ticksPerSecond: number,
): Promise<SearchFigures> {
  const query = (i: number) => queries[i % queries.length]!;
  for (let i = 0; i < WARM_UP; i++) await searchOnce(server.url, token, query(i), mode);
  const pid = server.child.pid!;
  const ticksBefore = await cpuTicks(pid);
  const sequential: number[] = [];
  let hits = 0;
  for (let i = 0; i < SEQUENTIAL_QUERIES; i++) {
    const r = await searchOnce(server.url, token, query(i), mode);
    sequential.push(r.ms);
    hits += r.hits;
  }
  const ticks = (await cpuTicks(pid)) - ticksBefore;

  const concurrent: number[] = [];
  let next = 0;
  const begun = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CONCURRENT_QUERIES) {
        const r = await searchOnce(server.url, token, query(next++), mode);
        concurrent.push(r.ms);
      }
    }),
  );
  const seconds = (performance.now() - begun) / 1000;
  return {
    seqP50: percentile(sequential, 50),
    seqP99: percentile(sequential, 99),
    cpuMsPerQuery: (ticks * 1000) / ticksPerSecond / SEQUENTIAL_QUERIES,
    c8P50: percentile(concurrent, 50),
    c8P99: percentile(concurrent, 99),
    c8Qps: CONCURRENT_QUERIES / seconds,
    meanHits: hits / SEQUENTIAL_QUERIES,
  };
}

// ---------------------------------------------------------------------------------------------
// One target

/** The vector and lexical index checkpoints under DATA_DIR, in bytes. */
async function indexFilesSize(dataDir: string): Promise<number> {
  let bytes = 0;
  for (const directory of ['indexes', 'lexical-indexes']) {
    const full = path.join(dataDir, directory);
    if (existsSync(full)) bytes += await diskUsage(full);
  }
  return bytes;
}

interface SizeResult {
  target: Target;
  size: number;
  chunks: number;
  documents: number;
  collectionChunks: number;
  segment: { chunks: number; seconds: number; rate: number };
  cumulativeRate: number;
  search: Record<Mode, SearchFigures>;
  rss: number;
  emptyRss: number;
  /** Spawn → ready of the server on the empty collection (after the start that created it). */
  emptyReadyMs: number;
  /** write_bytes of the first start, which created the database (initdb on PGlite). */
  creationBytes: number;
  writtenBytes: number;
  dataDirBytes: number;
  /** The index files in DATA_DIR (vector and lexical checkpoints) after the stop. */
  indexBytes: number;
  /** Raw index insert rate into this size's own checkpoint (null: none was written). */
  rawAtSize: { chunks: number; seconds: number; rate: number } | null;
  /** Warn-and-worse log messages of the process that grew to this size, its stop included. */
  warnings: string[];
  databaseBytes: number | null;
  stop: Stopped;
  restart: ReadyTimes;
}

interface RunContext {
  source: MarkdownSource;
  queries: string[];
  ticksPerSecond: number;
  rawRate: number;
}

async function runTarget(
  target: Target,
  targetSizes: number[],
  ctx: RunContext,
  database: { url: string; name: string; serverUrl: string } | null,
  /** Filled size by size, so a failure later keeps the sizes measured before it. */
  results: SizeResult[] = [],
): Promise<SizeResult[]> {
  const env = serverEnv(database?.url ?? null);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-scale-'));
  const start = () => startServerProcess(env, { dataDir, awaitIndexes: false });
  let server: ServerProcess | undefined;
  try {
    // The first start creates the database (on PGlite, initdb inside the process, which keeps
    // its RSS high for the process's life): the empty baseline is the start after it.
    const first = await timeToReady(start);
    server = first.server;
    const firstRss = await rssBytes(server.child.pid!);
    const token = await login(server.url);
    const firstStop = await stopGracefully(server);
    const firstWarnings = serverWarnings(server.output());
    server = undefined;
    /** write_bytes of the target's processes that have exited. */
    let writtenByStopped = firstStop.writeBytes;
    const empty = await timeToReady(start);
    server = empty.server;
    const emptyRss = await rssBytes(server.child.pid!);
    // Created only now: an empty collection's checkpoint, loaded at a start, would be what that
    // process guesses its index's write time from (see the report).
    await call(server.url, token, 'POST', '/collections', { name: COLLECTION });
    console.log(
      `\n${target}${database ? ` (database ${database.name})` : ''}: first start (creates the database) listening ${sec(first.listenMs)}, ready ${sec(first.readyMs)}, RSS ${mb(firstRss)}, wrote ${mb(firstStop.writeBytes)}; restarted, empty: listening ${sec(empty.listenMs)}, ready ${sec(empty.readyMs)}, RSS ${mb(emptyRss)} (the RSS baseline)`,
    );
    if (firstWarnings.length > 0) console.log(`  server warnings: ${firstWarnings.join('; ')}`);
    const growth: Growth = { chunks: 0, documents: 0, nextDocument: 0, seconds: 0 };
    for (const size of targetSizes) {
      const segment = await grow(server.url, token, ctx.source, growth, size);
      const collection = await call<{ chunks: number; documents: number }>(
        server.url,
        token,
        'GET',
        `/collections/${COLLECTION}`,
      );
      const search = {} as Record<Mode, SearchFigures>;
      for (const mode of MODES) {
        search[mode] = await searchFigures(server, token, ctx.queries, mode, ctx.ticksPerSecond);
      }
      const rss = await rssBytes(server.child.pid!);
      const stop = await stopGracefully(server);
      const warnings = serverWarnings(server.output());
      server = undefined;
      writtenByStopped += stop.writeBytes;
      const dataDirBytes = await diskUsage(dataDir);
      const indexBytes = await indexFilesSize(dataDir);
      const databaseBytes = database ? await databaseSize(database.serverUrl, database.name) : null;
      const rawAtSize = await rawIndexRateAtSize(ctx.source, dataDir);
      const restart = await timeToReady(start);
      server = restart.server;
      const result: SizeResult = {
        target,
        size,
        chunks: growth.chunks,
        documents: growth.documents,
        collectionChunks: collection.body.chunks,
        segment,
        cumulativeRate: growth.chunks / growth.seconds,
        search,
        rss,
        emptyRss,
        emptyReadyMs: empty.readyMs,
        creationBytes: firstStop.writeBytes,
        writtenBytes: writtenByStopped,
        dataDirBytes,
        indexBytes,
        databaseBytes,
        rawAtSize,
        warnings,
        stop,
        restart,
      };
      results.push(result);
      printSize(result, ctx.rawRate);
    }
    return results;
  } catch (error) {
    if (server) console.error(`server output (tail):\n${server.output().slice(-4000)}`);
    throw error;
  } finally {
    await server?.[Symbol.asyncDispose]();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const msText = (n: number) => `${fixed(n, n < 10 ? 1 : 0)} ms`;
const sec = (ms: number) => `${fixed(ms / 1000, 1)} s`;
const mb = (bytes: number) => `${fixed(bytes / 2 ** 20, 0)} MB`;
const kbPerChunk = (bytes: number, chunks: number) => fixed(bytes / 1024 / chunks, 1);
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '—');
const onDisk = (r: SizeResult) => r.dataDirBytes + (r.databaseBytes ?? 0);
const readyzFigures = (body: Record<string, unknown>) =>
  JSON.stringify({
    vector_indexes: body.vector_indexes,
    replayed: body.replayed,
    lexical_indexes: body.lexical_indexes,
  });

function printSize(r: SizeResult, rawRate: number) {
  console.log(
    `  ${int(r.chunks)} chunks in ${int(r.documents)} documents (asked ${int(r.size)}; the collection reports ${int(r.collectionChunks)})`,
  );
  console.log(
    `    ingest: ${int(r.segment.chunks)} chunks in ${fixed(r.segment.seconds)} s = ${int(r.segment.rate)} chunks/s (cumulative ${int(r.cumulativeRate)}); / raw ${ratio(r.segment.rate, rawRate)}; raw at this size (the server's checkpoint loaded here, ${int(r.rawAtSize?.chunks ?? Number.NaN)} more chunks) ${int(r.rawAtSize?.rate ?? Number.NaN)} chunks/s, ingest / that ${ratio(r.segment.rate, r.rawAtSize?.rate ?? Number.NaN)}`,
  );
  for (const mode of MODES) {
    const s = r.search[mode];
    console.log(
      `    ${mode.padEnd(6)} seq p50 ${msText(s.seqP50)} p99 ${msText(s.seqP99)}, CPU ${fixed(s.cpuMsPerQuery, 2)} ms/query; c=${CONCURRENCY} p50 ${msText(s.c8P50)} p99 ${msText(s.c8P99)}, ${int(s.c8Qps)} q/s (mean hits ${fixed(s.meanHits)})`,
    );
  }
  console.log(
    `    RSS ${mb(r.rss)} (empty ${mb(r.emptyRss)}: +${kbPerChunk(r.rss - r.emptyRss, r.chunks)} KB/chunk); written ${mb(r.writtenBytes)} = ${kbPerChunk(r.writtenBytes, r.chunks)} KB/chunk (${kbPerChunk(r.writtenBytes - r.creationBytes, r.chunks)} without the database's creation); on disk ${mb(onDisk(r))} = ${kbPerChunk(onDisk(r), r.chunks)} KB/chunk (DATA_DIR ${mb(r.dataDirBytes)}, of which index files ${mb(r.indexBytes)}${r.databaseBytes === null ? '' : `, database ${mb(r.databaseBytes)}`})`,
  );
  console.log(
    `    stop (SIGTERM → exit ${r.stop.code ?? 'killed'}) ${sec(r.stop.ms)}; restart: listening ${sec(r.restart.listenMs)}, ready ${sec(r.restart.readyMs)} ${readyzFigures(r.restart.body)}`,
  );
  if (r.warnings.length > 0) console.log(`    server warnings: ${r.warnings.join('; ')}`);
  if (r.stop.code !== 0) {
    console.log(
      `    ! the stop did not end cleanly (exit ${r.stop.code ?? 'killed after the bound'})`,
    );
  }
}

function printTable(results: SizeResult[], rawRate: number) {
  const header = [
    'target',
    'chunks',
    'ingest chunks/s (segment)',
    'ingest / raw (fresh)',
    'raw at size chunks/s',
    'ingest / raw at size',
    'hybrid p50/p99 seq',
    'vector p50/p99 seq',
    `hybrid p50/p99 c=${CONCURRENCY} (q/s)`,
    'CPU ms/query (hybrid/vector)',
    'start→ready',
    'stop took',
    'RSS',
    'RSS growth KB/chunk',
    'written KB/chunk',
    'on disk KB/chunk',
  ];
  console.log(`\n| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of results) {
    const h = r.search.hybrid;
    const v = r.search.vector;
    const row = [
      r.target,
      int(r.chunks),
      int(r.segment.rate),
      fixed(r.segment.rate / rawRate, 2),
      int(r.rawAtSize?.rate ?? Number.NaN),
      fixed(r.segment.rate / (r.rawAtSize?.rate ?? Number.NaN), 2),
      `${msText(h.seqP50)} / ${msText(h.seqP99)}`,
      `${msText(v.seqP50)} / ${msText(v.seqP99)}`,
      `${msText(h.c8P50)} / ${msText(h.c8P99)} (${int(h.c8Qps)})`,
      `${fixed(h.cpuMsPerQuery, 2)} / ${fixed(v.cpuMsPerQuery, 2)}`,
      sec(r.restart.readyMs),
      `${sec(r.stop.ms)}${r.stop.code === 0 ? '' : ` (exit ${r.stop.code ?? 'killed'})`}`,
      mb(r.rss),
      kbPerChunk(r.rss - r.emptyRss, r.chunks),
      kbPerChunk(r.writtenBytes, r.chunks),
      kbPerChunk(onDisk(r), r.chunks),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}

function printRatios(byTarget: Map<Target, SizeResult[]>, rawRate: number) {
  console.log('\nRatios:');
  for (const [target, results] of byTarget) {
    if (results.length === 0) continue;
    const first = results[0]!;
    const last = results[results.length - 1]!;
    console.log(
      `  ${target}: ingest / raw ${results.map((r) => `${int(r.chunks)}: ${fixed(r.segment.rate / rawRate, 2)}`).join(', ')}`,
    );
    console.log(
      `  ${target}: ingest rate at ${int(last.chunks)} / at ${int(first.chunks)}: ${ratio(last.segment.rate, first.segment.rate)}; hybrid p99 seq: ${ratio(last.search.hybrid.seqP99, first.search.hybrid.seqP99)}; vector p99 seq: ${ratio(last.search.vector.seqP99, first.search.vector.seqP99)}; start→ready: ${ratio(last.restart.readyMs, first.restart.readyMs)} (at ${int(last.chunks)} / empty: ${ratio(last.restart.readyMs, last.emptyReadyMs)})`,
    );
  }
  const pglite = byTarget.get('PGlite') ?? [];
  const postgres = byTarget.get('Postgres') ?? [];
  const both = pglite.filter((p) => postgres.some((q) => q.size === p.size));
  if (both.length === 0) return;
  console.log('  PGlite / Postgres at the sizes both reached:');
  for (const p of both) {
    const q = postgres.find((r) => r.size === p.size)!;
    console.log(
      `    ${int(p.size)}: ingest rate ${ratio(p.segment.rate, q.segment.rate)}, hybrid p50 seq ${ratio(p.search.hybrid.seqP50, q.search.hybrid.seqP50)}, hybrid p99 seq ${ratio(p.search.hybrid.seqP99, q.search.hybrid.seqP99)}, hybrid q/s c=${CONCURRENCY} ${ratio(p.search.hybrid.c8Qps, q.search.hybrid.c8Qps)}, start→ready ${ratio(p.restart.readyMs, q.restart.readyMs)}, on disk ${ratio(onDisk(p), onDisk(q))}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const scifact = await loadScifact();
const source = new MarkdownSource(scifact.corpus);
const calibration = source.calibrate();
const queries = scifact.queries.map((q) => q.text);
const ticksPerSecond = await clockTicksPerSecond();

const pgliteSizes = sizes.filter((s) => s <= pgliteMax);
console.log(
  `bench:scale — sizes ${sizes.map(int).join(', ')}; PGlite ${runPglite ? `to ${int(pgliteSizes[pgliteSizes.length - 1]!)}` : 'skipped'}; Postgres ${runPostgres ? 'yes' : postgresServerUrl ? 'skipped' : 'skipped (no DATABASE_URL)'}`,
);
console.log(
  `Text: ${int(source.sentenceCount)} SciFact sentences recombined; documents of ~${int(calibration.documentChars / 1024)} KB cut (${DEFAULT_CHUNK_SIZE}/${DEFAULT_CHUNK_OVERLAP}) into ~${CHUNKS_PER_DOCUMENT} chunks of ${int(calibration.meanChunkLength)} characters on average; ${UPLOADERS} uploaders; ${queries.length} queries, top_k ${TOP_K}; CLK_TCK ${ticksPerSecond}`,
);

const raw = await rawIndexRate(source);
(globalThis as { gc?: () => void }).gc?.();
console.log(
  `Raw index insert (in process: hashing embedder + HNSW + BM25): ${int(raw.chunks)} chunks in ${fixed(raw.seconds)} s = ${int(raw.rate)} chunks/s`,
);

const ctx: RunContext = { source, queries, ticksPerSecond, rawRate: raw.rate };
const byTarget = new Map<Target, SizeResult[]>();
/** One target's failure is reported and the other still runs: an hour's run keeps what it has. */
async function measured(
  target: Target,
  run: (results: SizeResult[]) => Promise<unknown>,
): Promise<void> {
  const results: SizeResult[] = [];
  byTarget.set(target, results);
  try {
    await run(results);
  } catch (error) {
    process.exitCode = 1;
    console.error(`\n${target} failed:`, error);
  }
}
if (runPglite)
  await measured('PGlite', (results) => runTarget('PGlite', pgliteSizes, ctx, null, results));
if (runPostgres && postgresServerUrl) {
  await measured('Postgres', (results) =>
    withDatabase(postgresServerUrl, (url, name) =>
      runTarget('Postgres', sizes, ctx, { url, name, serverUrl: postgresServerUrl }, results),
    ),
  );
}
printTable([...byTarget.values()].flat(), raw.rate);
printRatios(byTarget, raw.rate);
