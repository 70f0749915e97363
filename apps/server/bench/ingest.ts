/**
 * npm run bench:ingest — documents through the upload route as durable jobs, against what the
 * indexes alone can take, in one run (the machine is noisy: compare the ratios, not the times):
 *
 * 1. chunks/s end to end (multipart upload → job → ready) for a batch of PDFs and a batch of
 *    Markdown files, next to the raw index insert rate of the same chunks (embedding, HNSW and
 *    BM25 in memory: what ingestion could reach without HTTP, extraction or Postgres);
 * 2. the event loop's worst delays while a batch of ~50 MB of Markdown is ingested, next to the
 *    same timer on the idle server (extraction and chunking run in worker threads);
 * 3. the job queue's throughput with INGESTION_CONCURRENCY 1, 2 and 4.
 *
 * Env: BENCH_MEGABYTES (the big batch, default 50), BENCH_DATABASE_URL (default in-memory PGlite).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { chunkEmbeddingText } from '../src/ingestion/chunker';
import { closeExtractionPool, extractDocument } from '../src/ingestion/extraction';
import { createHashingEmbedder } from '../src/ingestion/embeddings/hashing-embedder';
import { Bm25Index } from '../src/retrieval/lexical/bm25-index';
import { CollectionVectorIndex } from '../src/retrieval/vector/vector-index';
import { type BenchApp, startBenchApp } from './bench-app';
import { readBenchEnv } from './bench-env';

const bigBatchMegabytes = readBenchEnv().BENCH_MEGABYTES ?? 50;
const UPLOADERS = 4;

const WORDS = (
  'harbour ledger cargo manifest tide berth quay ferry lifeboat gale mooring pontoon keeper ' +
  'lighthouse inspection schedule crane container vessel pilot channel buoy anchor dredging ' +
  'customs permit warehouse forklift tariff invoice route weather forecast swell current'
).split(' ');

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function sentence(random: () => number): string {
  const length = 8 + Math.floor(random() * 10);
  const words = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]!);
  return `${words.join(' ')}.`;
}

function markdown(random: () => number, bytes: number): string {
  let text = '';
  for (let s = 0; text.length < bytes; s++) {
    text += `## Section ${s}\n\n`;
    for (let p = 0; p < 3; p++) {
      text += `${Array.from({ length: 5 }, () => sentence(random)).join(' ')}\n\n`;
    }
  }
  return text;
}

async function pdf(random: () => number, pages: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage([595, 842]);
    for (let line = 0; line < 40; line++) {
      page.drawText(sentence(random), { x: 40, y: 800 - line * 19, size: 10, font });
    }
  }
  return doc.save();
}

interface Upload {
  name: string;
  bytes: Uint8Array;
  type: string;
}

async function post(bench: BenchApp, collection: string, file: Upload, wait: number) {
  const form = new FormData();
  form.append('file', new Blob([file.bytes], { type: file.type }), file.name);
  const res = await fetch(`${bench.url}/api/collections/${collection}/documents?wait=${wait}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bench.token}` },
    body: form,
  });
  const body = (await res.json()) as { status?: string; chunks?: number; document_id?: string };
  if (res.status !== 200 && res.status !== 202) {
    throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return body;
}

async function createCollection(bench: BenchApp, name: string) {
  const res = await fetch(`${bench.url}/api/collections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 200) throw new Error(`collection: ${res.status} ${await res.text()}`);
}

/** Uploads every file, `UPLOADERS` at a time, each waiting until ready; chunks per second. */
async function uploadAll(bench: BenchApp, collection: string, files: Upload[]) {
  let next = 0;
  let chunks = 0;
  const started = performance.now();
  const uploader = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const body = await post(bench, collection, file, 300);
      if (body.status !== 'ready') throw new Error(`not ready: ${JSON.stringify(body)}`);
      chunks += body.chunks ?? 0;
    }
  };
  await Promise.all(Array.from({ length: UPLOADERS }, uploader));
  const seconds = (performance.now() - started) / 1000;
  return { chunks, seconds, rate: chunks / seconds };
}

/** The same files' chunks through the embedder and the two indexes in memory only. */
async function rawIndexRate(files: Upload[]) {
  const texts: string[] = [];
  for (const file of files) {
    const extracted = await extractDocument(
      { bytes: file.bytes, fileName: file.name },
      {
        maxPdfPages: 2000,
        maxExpandedBytes: 200 << 20,
        maxArchiveEntries: 10_000,
        chunkSize: 800,
        chunkOverlap: 100,
      },
    );
    for (const chunk of extracted.chunks) texts.push(chunkEmbeddingText(chunk));
  }
  const embedder = createHashingEmbedder();
  const vectors = CollectionVectorIndex.create(embedder.dimensions);
  const lexical = new Bm25Index();
  const started = performance.now();
  for (let i = 0; i < texts.length; i += 16) {
    const batch = texts.slice(i, i + 16);
    const embedded = await embedder.embed(batch);
    vectors.add(embedded.map((vector, j) => ({ label: i + j, vector })));
    lexical.add(batch.map((text, j) => ({ label: i + j, text })));
  }
  const seconds = (performance.now() - started) / 1000;
  return { chunks: texts.length, rate: texts.length / seconds };
}

/** The event loop's delay percentiles (ms) while `work` runs. */
async function loopDelay(work: () => Promise<unknown>) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    await work();
  } finally {
    histogram.disable();
  }
  const ms = (ns: number) => ns / 1e6;
  return {
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

// 1. End to end vs the raw index rate.
{
  const random = seededRandom(42);
  const pdfs: Upload[] = [];
  for (let i = 0; i < 12; i++) {
    pdfs.push({ name: `report-${i}.pdf`, bytes: await pdf(random, 20), type: 'application/pdf' });
  }
  const markdowns: Upload[] = Array.from({ length: 24 }, (_, i) => ({
    name: `notes-${i}.md`,
    bytes: Buffer.from(markdown(random, 200_000)),
    type: 'text/markdown',
  }));
  await using bench = await startBenchApp('builder');
  await createCollection(bench, 'pdfs');
  await createCollection(bench, 'notes');
  const pdfRun = await uploadAll(bench, 'pdfs', pdfs);
  const mdRun = await uploadAll(bench, 'notes', markdowns);
  const pdfRaw = await rawIndexRate(pdfs);
  const mdRaw = await rawIndexRate(markdowns);
  console.log(
    `Ingestion end to end (${bench.databaseKind}, ${UPLOADERS} uploaders, multipart, wait until ready):`,
  );
  for (const [name, run, raw] of [
    [`${pdfs.length} PDFs × 20 pages`, pdfRun, pdfRaw],
    [`${markdowns.length} Markdown × 200 KB`, mdRun, mdRaw],
  ] as const) {
    console.log(
      `  ${name.padEnd(26)} ${String(run.chunks).padStart(6)} chunks in ${fixed(run.seconds)} s: ` +
        `${fixed(run.rate, 0)} chunks/s; raw index insert ${fixed(raw.rate, 0)} chunks/s; ` +
        `end to end / raw = ${fixed(run.rate / raw.rate, 2)}`,
    );
  }
}

// 2. The event loop during a big batch, against idle.
{
  const random = seededRandom(7);
  const fileBytes = 2 * 1024 * 1024;
  const files: Upload[] = Array.from(
    { length: Math.max(1, Math.round((bigBatchMegabytes * 1024 * 1024) / fileBytes)) },
    (_, i) => ({
      name: `big-${i}.md`,
      bytes: Buffer.from(markdown(random, fileBytes)),
      type: 'text/markdown',
    }),
  );
  await using bench = await startBenchApp('builder');
  await createCollection(bench, 'big');
  const idle = await loopDelay(() => sleep(3000));
  let run: Awaited<ReturnType<typeof uploadAll>> | undefined;
  const busy = await loopDelay(async () => {
    run = await uploadAll(bench, 'big', files);
  });
  const megabytes = files.reduce((sum, f) => sum + f.bytes.length, 0) / 1024 / 1024;
  console.log(
    `Event loop during a ${fixed(megabytes, 0)} MB Markdown batch (${run?.chunks} chunks in ${fixed(run?.seconds ?? 0)} s):`,
  );
  console.log(`  idle:  p99 ${fixed(idle.p99)} ms, worst ${fixed(idle.max)} ms`);
  console.log(
    `  batch: p99 ${fixed(busy.p99)} ms, worst ${fixed(busy.max)} ms (${fixed(busy.max / Math.max(idle.max, 1), 1)}× idle's worst)`,
  );
}

// 3. The queue's throughput by workers per process.
{
  const random = seededRandom(99);
  const files: Upload[] = Array.from({ length: 32 }, (_, i) => ({
    name: `queued-${i}.md`,
    bytes: Buffer.from(markdown(random, 100_000)),
    type: 'text/markdown',
  }));
  console.log(
    `Job queue: ${files.length} Markdown × 100 KB queued at once (wait=0), until all ready:`,
  );
  let base = 0;
  for (const concurrency of [1, 2, 4]) {
    await using bench = await startBenchApp('builder', {
      INGESTION_CONCURRENCY: String(concurrency),
    });
    await createCollection(bench, 'queue');
    const started = performance.now();
    const ids = await Promise.all(files.map((f) => post(bench, 'queue', f, 0)));
    let chunks = 0;
    for (const { document_id } of ids) {
      for (;;) {
        const res = await fetch(`${bench.url}/api/collections/queue/documents/${document_id}`, {
          headers: { authorization: `Bearer ${bench.token}` },
        });
        const body = (await res.json()) as { status: string; chunks: number };
        if (body.status === 'ready') {
          chunks += body.chunks;
          break;
        }
        if (body.status === 'failed') throw new Error(`failed: ${JSON.stringify(body)}`);
        await sleep(50);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const rate = chunks / seconds;
    if (concurrency === 1) base = rate;
    console.log(
      `  INGESTION_CONCURRENCY=${concurrency}: ${fixed(seconds)} s, ${fixed(files.length / seconds, 1)} documents/s, ` +
        `${fixed(rate, 0)} chunks/s (${fixed(rate / base, 2)}× one worker)`,
    );
  }
}

// The raw rates above extracted through the shared worker pool: end it.
await closeExtractionPool();
