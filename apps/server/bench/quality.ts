/**
 * npm run bench:quality — retrieval quality on BEIR SciFact (test split) through the server's own
 * ingestion and retrieval code, next to the published BM25 reference.
 *
 *   node --import tsx apps/server/bench/quality.ts
 *
 * 1. Ingestion: `createApp` on an in-memory PGlite and a temporary DATA_DIR (offline embedder,
 *    default CHUNK_SIZE/CHUNK_OVERLAP), an admin, one collection, then
 *    `services.collections.addDocument` per abstract (content = title + "\n\n" + text,
 *    file_name = the SciFact `_id`): chunked, embedded, stored in Postgres, added to the HNSW and
 *    BM25 indexes — exactly what `POST /api/collections/{name}/documents` does.
 * 2. The served path: `services.collections.search` (what the search route and a persona call),
 *    top_k 20 (its cap), vector and hybrid. A cross-check of the figures below.
 * 3. Close the app (the vector index is written to DATA_DIR), then open the indexes again with
 *    `openChunkIndexes` — what the next server start does: the HNSW file is loaded, the BM25 index
 *    rebuilt from the chunks table — and build the server's retriever on them with
 *    `createRetriever`. The service caps top_k at 20, so recall@100 needs the retriever itself:
 *      vector   retrieve({mode: 'vector', topK: 100})
 *      hybrid   retrieve({mode: 'hybrid', topK: 100})
 *      lexical  indexes.lexical(collectionId, query, 100): the same in-process BM25 index the
 *               hybrid mode fuses (the server has no lexical-only mode), labels mapped to rows.
 *    Chunks map back to SciFact ids through their document's file_name; a document ranks at its
 *    best chunk (later chunks of the same document are skipped), so nDCG@10 is over the first 10
 *    distinct documents and recall@100 over the distinct documents in the top 100 chunks.
 * 4. Fusion variants, computed from the same candidate lists (HNSW cosines, BM25 scores), so a
 *    change to retriever.ts can be judged on numbers rather than taste.
 *
 * Takes about two minutes on two cores, most of it ingestion.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type AuthUser, METRIC_DEFAULTS, type RagHit, type RagMode } from '@personas/contracts';
import { type App, createApp } from '../src/app';
import { connectDatabase } from '../src/db/connect';
import { loadConfig } from '../src/env';
import { chunkEmbeddingText } from '../src/ingestion/chunker';
import { createLogger } from '../src/logger';
import { createEmbedder } from '../src/providers';
import { openChunkIndexes } from '../src/retrieval/chunk-indexes';
import { type Bm25Hit, Bm25Index } from '../src/retrieval/lexical/bm25-index';
import { chunkTexts } from '../src/retrieval/postgres-chunk-source';
import { reciprocalRankFusion } from '../src/retrieval/rank-fusion';
import { createRetriever } from '../src/retrieval/retriever';
import { decodeVector } from '../src/retrieval/vector/vector-codec';
import { type Judgements, ndcgAtK, recallAtK } from './metrics';
import { loadScifact, SCIFACT_DIR } from './scifact';

const REFERENCE_BM25_NDCG = 0.665; // BEIR paper (Thakur et al., 2021), SciFact test split
const TARGET_LEXICAL_NDCG = 0.63; // ≥ 0.95 × the BEIR paper's BM25
const MAX_P99_RATIO = 3;
const TOP_K = 100;
const SERVED_TOP_K = 20;
const WARM_UP_QUERIES = 20;
const COLLECTION = 'scifact';
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password' };

type Ranking = string[];
interface ModeResult {
  ndcg10: number[];
  recall100: number[];
  latenciesMs: number[];
}

const newResult = (): ModeResult => ({ ndcg10: [], recall100: [], latenciesMs: [] });
const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The SciFact ids of ranked chunks → each document once, at its best chunk. */
function distinct(ids: readonly string[]): Ranking {
  return [...new Set(ids)];
}

function score(result: ModeResult, ranking: Ranking, judgements: Judgements<string>) {
  result.ndcg10.push(ndcgAtK(ranking, judgements, 10));
  result.recall100.push(recallAtK(ranking, judgements, 100));
}

/** Paired difference a − b over queries: mean, standard error, and how many queries went each way. */
function paired(a: readonly number[], b: readonly number[]) {
  const d = a.map((x, i) => x - b[i]!);
  const m = mean(d);
  const variance = d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1);
  return {
    mean: m,
    se: Math.sqrt(variance / d.length),
    better: d.filter((x) => x > 1e-9).length,
    worse: d.filter((x) => x < -1e-9).length,
  };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function topByScore<T extends { label: number; score: number }>(items: T[], k: number): T[] {
  return items.sort((a, b) => b.score - a.score || a.label - b.label).slice(0, k);
}

const f3 = (x: number) => x.toFixed(3);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const pad = (s: string, n: number) => s.padEnd(n);

// --- fusion variants -------------------------------------------------------------------------

interface Candidates {
  vector: { label: number; cosine: number }[];
  lexical: Bm25Hit[];
}

interface Variant {
  name: string;
  fuse(c: Candidates, k: number): number[];
}

function sortedLabels(scores: Map<number, number>, k: number): number[] {
  return [...scores.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, k)
    .map(([label]) => label);
}

/** Weighted reciprocal rank fusion over the first `pool` of each list (retriever.ts: 1, 1, 60). */
function rrf(opts: {
  vectorWeight: number;
  lexicalWeight: number;
  k: number;
  vectorPool: number;
  lexicalPool: number;
}) {
  return (c: Candidates, topK: number) =>
    reciprocalRankFusion(
      [c.vector.slice(0, opts.vectorPool), c.lexical.slice(0, opts.lexicalPool)],
      {
        k: opts.k,
        limit: topK,
        weights: [opts.vectorWeight, opts.lexicalWeight],
      },
    ).map((hit) => hit.label);
}

/**
 * Convex combination of scores normalised per list by the list's best score (BM25 / max BM25;
 * cosine / max cosine): a candidate missing from a list gets 0 there.
 */
function scoreFusion(lexicalWeight: number, pool: number) {
  return (c: Candidates, topK: number) => {
    const fused = new Map<number, number>();
    const vector = c.vector.slice(0, pool);
    const lexical = c.lexical.slice(0, pool);
    const vMax = vector[0]?.cosine ?? 1;
    const lMax = lexical[0]?.score ?? 1;
    for (const h of vector) {
      fused.set(h.label, (1 - lexicalWeight) * (vMax > 0 ? h.cosine / vMax : 0));
    }
    for (const h of lexical) {
      fused.set(h.label, (fused.get(h.label) ?? 0) + lexicalWeight * (h.score / lMax));
    }
    return sortedLabels(fused, topK);
  };
}

/** Every candidate list ranked lexical-first: vector-only candidates only after all lexical ones. */
function cascade(c: Candidates, topK: number): number[] {
  const lexical = c.lexical.map((h) => h.label);
  const seen = new Set(lexical);
  return [...lexical, ...c.vector.map((h) => h.label).filter((label) => !seen.has(label))].slice(
    0,
    topK,
  );
}

const rrfVariant = (k: number, vectorWeight: number, pool = TOP_K): Variant => ({
  name: `RRF k=${k}, vector weight ${vectorWeight}, ${pool}+${pool}`,
  fuse: rrf({ k, vectorWeight, lexicalWeight: 1, vectorPool: pool, lexicalPool: pool }),
});
const VARIANTS: Variant[] = [
  rrfVariant(60, 1, 50),
  rrfVariant(60, 1),
  rrfVariant(60, 0.5),
  rrfVariant(60, 0.1),
  rrfVariant(10, 0.5),
  rrfVariant(10, 0.2),
  rrfVariant(10, 0.1, 50),
  rrfVariant(10, 0.1),
  { name: 'scores 0.8·bm25/max + 0.2·cos/max', fuse: scoreFusion(0.8, TOP_K) },
  { name: 'scores 0.9·bm25/max + 0.1·cos/max', fuse: scoreFusion(0.9, TOP_K) },
  { name: 'cascade: lexical, then vector-only', fuse: cascade },
];

// --- the run ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const data = await loadScifact();
  const judgementCount = [...data.qrels.values()].reduce((sum, j) => sum + j.size, 0);
  console.log(`BEIR SciFact test split (${SCIFACT_DIR})`);
  console.log(
    `  ${data.corpus.length} documents, ${data.queries.length} queries, ${judgementCount} judgements`,
  );

  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-quality-'));
  const logger = createLogger('warn');
  const database = await connectDatabase({ databaseUrl: null, dataDir: null }, logger);
  let app: App | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
    console.log(
      `  server: PGlite in memory, ${config.embeddingsProvider} embedder, chunk size ${config.chunkSize}, overlap ${config.chunkOverlap}`,
    );

    // --- 1. ingestion through the service ---------------------------------------------------
    const live = await createApp({ ...config, database });
    app = live;
    const session = await live.services.auth.login(ADMIN, '127.0.0.1');
    const admin: AuthUser | null = await live.authenticate(session.token);
    if (!admin) throw new Error('the bootstrap admin could not sign in');
    const collection = await live.services.collections.create(admin, { name: COLLECTION });

    let chunkCount = 0;
    const ingestStarted = performance.now();
    for (const [i, document] of data.corpus.entries()) {
      const added = await live.services.collections.addDocument(admin, {
        name: COLLECTION,
        file_name: document.id,
        content: `${document.title}\n\n${document.text}`,
      });
      chunkCount += added.chunks;
      if ((i + 1) % 1000 === 0) process.stderr.write(`  ingested ${i + 1} documents\n`);
    }
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    console.log(
      `\nIngestion (services.collections.addDocument, one document at a time)\n` +
        `  ${data.corpus.length} documents → ${chunkCount} chunks (${(chunkCount / data.corpus.length).toFixed(2)} per document) in ${ingestSeconds.toFixed(1)} s: ` +
        `${Math.round(data.corpus.length / ingestSeconds)} docs/s, ${Math.round(chunkCount / ingestSeconds)} chunks/s`,
    );

    // --- 2. the served path ------------------------------------------------------------------
    const served: Record<RagMode, ModeResult> = { vector: newResult(), hybrid: newResult() };
    const servedModes: RagMode[] = ['vector', 'hybrid'];
    const serve = (query: string, mode: RagMode) =>
      live.services.collections.search(admin, {
        name: COLLECTION,
        query,
        top_k: SERVED_TOP_K,
        mode,
      });
    for (const query of data.queries.slice(0, WARM_UP_QUERIES)) {
      for (const mode of servedModes) await serve(query.text, mode);
    }
    for (const query of data.queries) {
      const judgements = data.qrels.get(query.id) ?? new Map<string, number>();
      for (const mode of servedModes) {
        const started = performance.now();
        const { hits } = await serve(query.text, mode);
        served[mode].latenciesMs.push(performance.now() - started);
        score(served[mode], distinct(hits.map((h) => h.file_name)), judgements);
      }
    }
    await live.close(); // writes the vector index to DATA_DIR; the database stays open

    // --- 3. the retriever at topK 100 on the indexes a restart opens -----------------------
    const openStarted = performance.now();
    const indexes = await openChunkIndexes(database.db, dataDir, logger);
    const openSeconds = (performance.now() - openStarted) / 1000;
    const embedder = createEmbedder(config);
    const retrieve = createRetriever(database.db, embedder, indexes);
    const collectionId = collection.collection_id;
    const rows = await database.db
      .selectFrom('chunks')
      .innerJoin('documents', 'documents.id', 'chunks.document_id')
      .select(['chunks.id', 'documents.file_name'])
      .where('chunks.collection_id', '=', collectionId)
      .execute();
    const fileNameOf = new Map(rows.map((r) => [Number(r.id), r.file_name]));
    const docsOf = (labels: readonly number[]) =>
      distinct(labels.flatMap((label) => fileNameOf.get(label) ?? []));
    const docsOfHits = (hits: readonly RagHit[]) => distinct(hits.map((h) => h.file_name));

    console.log(
      `  restart: indexes opened in ${openSeconds.toFixed(1)} s (vector index ${indexes.report.loaded.includes(collectionId) ? 'loaded from its file' : `rebuilt: ${indexes.report.reasons[collectionId]}`}, BM25 rebuilt from ${rows.length} chunk rows)`,
    );

    const request = (query: string, mode: RagMode) => ({
      collectionIds: [collectionId],
      query,
      topK: TOP_K,
      metric: 'cosine' as const,
      threshold: METRIC_DEFAULTS.cosine,
      mode,
    });
    const modes = ['lexical', 'vector', 'hybrid'] as const;
    type Mode = (typeof modes)[number];
    const results: Record<Mode, ModeResult> = {
      lexical: newResult(),
      vector: newResult(),
      hybrid: newResult(),
    };
    const rank = async (query: string, mode: Mode): Promise<Ranking> =>
      mode === 'lexical'
        ? docsOf(indexes.lexical(collectionId, query, TOP_K))
        : docsOfHits(await retrieve(request(query, mode)));

    for (const query of data.queries.slice(0, WARM_UP_QUERIES)) {
      for (const mode of modes) await rank(query.text, mode);
    }
    const hybridRankings: string[] = [];
    for (const query of data.queries) {
      const judgements = data.qrels.get(query.id) ?? new Map<string, number>();
      // Modes interleaved per query, so a GC pause or a noisy neighbour hits all of them alike.
      for (const mode of modes) {
        const started = performance.now();
        const ranking = await rank(query.text, mode);
        results[mode].latenciesMs.push(performance.now() - started);
        score(results[mode], ranking, judgements);
        if (mode === 'hybrid') hybridRankings.push(ranking.join());
      }
    }

    // --- 4. fusion variants over the same candidates -----------------------------------------
    // A BM25 index built from the chunks table as openChunkIndexes builds its own, for the scores
    // that `ChunkIndexes.lexical` does not return; checked to rank exactly like the server's.
    const bm25 = new Bm25Index();
    for await (const page of chunkTexts(database.db, collectionId)) {
      bm25.add(page.map((c) => ({ label: c.label, text: chunkEmbeddingText(c) })));
    }
    // Every stored embedding, for the exact nearest neighbours the HNSW index approximates.
    const stored = (
      await database.db
        .selectFrom('chunks')
        .select(['id', 'embedding'])
        .where('collection_id', '=', collectionId)
        .execute()
    ).map((r) => ({ label: Number(r.id), vector: decodeVector(r.embedding) }));
    const exactNearest = (query: readonly number[], k: number) =>
      topByScore(
        stored.map((r) => ({ label: r.label, score: dot(query, r.vector) })),
        k,
      );

    let lexicalIdentical = true;
    let hnswOverlap = 0;
    const exactVector = newResult();
    const variantResults = VARIANTS.map(() => newResult());
    const variantMatchesRetriever = VARIANTS.map(() => true);
    for (const [q, query] of data.queries.entries()) {
      const judgements = data.qrels.get(query.id) ?? new Map<string, number>();
      const [vector] = await embedder.embed([query.text]);
      const candidates: Candidates = {
        vector: indexes.nearest(collectionId, vector!, TOP_K),
        lexical: bm25.search(query.text, TOP_K),
      };
      const servedLexical = indexes.lexical(collectionId, query.text, TOP_K);
      if (servedLexical.join() !== candidates.lexical.map((h) => h.label).join()) {
        lexicalIdentical = false;
      }
      const exact = exactNearest(vector!, TOP_K).map((h) => h.label);
      const approximate = new Set(candidates.vector.map((h) => h.label));
      hnswOverlap += exact.filter((label) => approximate.has(label)).length / exact.length;
      score(exactVector, docsOf(exact), judgements);
      VARIANTS.forEach((variant, i) => {
        const ranking = docsOf(variant.fuse(candidates, TOP_K));
        score(variantResults[i]!, ranking, judgements);
        if (ranking.join() !== hybridRankings[q]) variantMatchesRetriever[i] = false;
      });
    }
    await indexes.close();

    // --- report ------------------------------------------------------------------------------
    const lexical = results.lexical;
    const hybrid = results.hybrid;
    const vector = results.vector;
    console.log(
      `\nQuality (${data.queries.length} queries; retriever topK ${TOP_K} chunks → distinct documents)`,
    );
    console.log(`  ${pad('', 9)}nDCG@10  recall@100   query p50   query p99`);
    for (const mode of modes) {
      const r = results[mode];
      console.log(
        `  ${pad(mode, 9)}${pad(f3(mean(r.ndcg10)), 9)}${pad(f3(mean(r.recall100)), 13)}${pad(ms(percentile(r.latenciesMs, 50)), 12)}${ms(percentile(r.latenciesMs, 99))}`,
      );
    }
    console.log(`  ${pad('BM25 ref', 9)}${REFERENCE_BM25_NDCG}    (BEIR paper; Pyserini 0.679)`);
    console.log(
      '  lexical = indexes.lexical() alone (no embedding, no row fetch); vector/hybrid = createRetriever (embed, index search, fusion, rows + exact cosine from Postgres)',
    );
    const hybridVsLexical = paired(hybrid.ndcg10, lexical.ndcg10);
    console.log(
      `  hybrid − lexical nDCG@10: ${hybridVsLexical.mean >= 0 ? '+' : ''}${f3(hybridVsLexical.mean)} ± ${f3(hybridVsLexical.se)} (paired s.e.); ${hybridVsLexical.better} queries better, ${hybridVsLexical.worse} worse`,
    );

    console.log(
      `\nServed path (services.collections.search, top_k ${SERVED_TOP_K}, the route's cap)`,
    );
    for (const mode of servedModes) {
      const r = served[mode];
      console.log(
        `  ${pad(mode, 9)}nDCG@10 ${f3(mean(r.ndcg10))}   p50 ${ms(percentile(r.latenciesMs, 50))}   p99 ${ms(percentile(r.latenciesMs, 99))}`,
      );
    }

    console.log(
      `\nVector side: HNSW top ${TOP_K} holds ${(100 * (hnswOverlap / data.queries.length)).toFixed(1)}% of the exact top ${TOP_K}; ` +
        `exact cosine over all ${stored.length} stored embeddings: nDCG@10 ${f3(mean(exactVector.ndcg10))}, recall@100 ${f3(mean(exactVector.recall100))}`,
    );
    console.log(
      `\nFusion variants over the same candidates (top ${TOP_K} of HNSW and of BM25; the BM25 copy ranks like indexes.lexical: ${lexicalIdentical ? 'yes' : 'NO'})`,
    );
    console.log(`  ${pad('', 40)}nDCG@10  recall@100  vs lexical nDCG@10 (paired)`);
    VARIANTS.forEach((variant, i) => {
      const r = variantResults[i]!;
      const d = paired(r.ndcg10, lexical.ndcg10);
      const same = variantMatchesRetriever[i] ? '  = retriever.ts hybrid' : '';
      console.log(
        `  ${pad(variant.name, 40)}${pad(f3(mean(r.ndcg10)), 9)}${pad(f3(mean(r.recall100)), 12)}${d.mean >= 0 ? '+' : ''}${f3(d.mean)} ± ${f3(d.se)}, ${d.better}↑ ${d.worse}↓${same}`,
      );
    });

    const vectorP99 = percentile(vector.latenciesMs, 99);
    const hybridP99 = percentile(hybrid.latenciesMs, 99);
    const servedRatio =
      percentile(served.hybrid.latenciesMs, 99) / percentile(served.vector.latenciesMs, 99);
    const checks: [string, boolean][] = [
      [
        `lexical nDCG@10 ${f3(mean(lexical.ndcg10))} ≥ ${TARGET_LEXICAL_NDCG}`,
        mean(lexical.ndcg10) >= TARGET_LEXICAL_NDCG,
      ],
      [
        `hybrid nDCG@10 ${f3(mean(hybrid.ndcg10))} ≥ lexical ${f3(mean(lexical.ndcg10))}`,
        mean(hybrid.ndcg10) >= mean(lexical.ndcg10),
      ],
      [
        `hybrid p99 / vector p99 = ${(hybridP99 / vectorP99).toFixed(2)} ≤ ${MAX_P99_RATIO} (topK ${TOP_K}; served path top_k ${SERVED_TOP_K}: ${servedRatio.toFixed(2)})`,
        hybridP99 <= MAX_P99_RATIO * vectorP99 && servedRatio <= MAX_P99_RATIO,
      ],
    ];
    console.log('\nTargets');
    for (const [label, ok] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${label}`);
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await app?.close(); // a second close is a no-op
    await database.db.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
