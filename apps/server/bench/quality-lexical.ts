/**
 * Lexical retrieval quality on BEIR SciFact (test split): one chunk per abstract (title + text)
 * in a Bm25Index, the 300 test claims as queries, nDCG@10 and recall@100 next to the published
 * BM25 figures. Also ingestion time, query latency, and the cost of persisting and reloading.
 *
 *   node --import tsx apps/server/bench/quality-lexical.ts
 */
import { performance } from 'node:perf_hooks';
import {
  Bm25Index,
  type Bm25Parameters,
  DEFAULT_BM25_PARAMETERS,
} from '../src/retrieval/bm25-index';
import { ndcgAtK, recallAtK } from '../src/retrieval/metrics';
import { loadScifact, SCIFACT_DIR, type Scifact } from '../src/retrieval/scifact';
import { TOKENIZER_VERSION } from '../src/retrieval/tokenizer';

const REFERENCE_NDCG = { beirPaper: 0.665, pyserini: 0.679 };
const TARGET_NDCG = 0.63;
const ALTERNATIVE_PARAMETERS: Bm25Parameters[] = [
  { k1: 0.9, b: 0.4 },
  { k1: 1.2, b: 0.75 },
];

interface Evaluation {
  ndcg10: number;
  recall100: number;
  latenciesMs: number[];
  rankings: number[][];
}

function evaluate(
  index: Bm25Index,
  { queries, qrels }: Scifact,
  documentIds: string[],
): Evaluation {
  let ndcgSum = 0;
  let recallSum = 0;
  const latenciesMs: number[] = [];
  const rankings: number[][] = [];
  for (const query of queries) {
    const started = performance.now();
    const hits = index.search(query.text, 100);
    latenciesMs.push(performance.now() - started);
    rankings.push(hits.map((hit) => hit.label));
    const ranked = hits.map((hit) => documentIds[hit.label]!);
    const judgements = qrels.get(query.id) ?? new Map<string, number>();
    ndcgSum += ndcgAtK(ranked, judgements, 10);
    recallSum += recallAtK(ranked, judgements, 100);
  }
  return {
    ndcg10: ndcgSum / queries.length,
    recall100: recallSum / queries.length,
    latenciesMs,
    rankings,
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

async function main(): Promise<void> {
  const data = await loadScifact();
  const judgementCount = [...data.qrels.values()].reduce((sum, j) => sum + j.size, 0);
  console.log(`BEIR SciFact test split (${SCIFACT_DIR})`);
  console.log(
    `  ${data.corpus.length} documents, ${data.queries.length} queries, ${judgementCount} judgements`,
  );

  const documentIds = data.corpus.map((document) => document.id);
  const items = data.corpus.map((document, label) => ({
    label,
    text: `${document.title} ${document.text}`,
  }));
  const index = new Bm25Index();
  const ingestStarted = performance.now();
  index.add(items);
  const ingestMs = performance.now() - ingestStarted;

  // Warm-up so p50/p99 describe steady state, not the JIT compiling the scoring loop.
  for (const query of data.queries.slice(0, 20)) index.search(query.text, 100);
  const result = evaluate(index, data, documentIds);

  const persistStarted = performance.now();
  const image = index.toBinary();
  const persistMs = performance.now() - persistStarted;
  const reloadStarted = performance.now();
  const reloaded = Bm25Index.fromBinary(image);
  const reloadMs = performance.now() - reloadStarted;
  const reloadedResult = evaluate(reloaded, data, documentIds);
  const identical =
    reloaded.checksum() === index.checksum() &&
    JSON.stringify(reloadedResult.rankings) === JSON.stringify(result.rankings);

  const { k1, b } = DEFAULT_BM25_PARAMETERS;
  console.log(`\nLexical BM25 (k1=${k1}, b=${b}, analyser ${TOKENIZER_VERSION})`);
  console.log(
    `  nDCG@10     ${result.ndcg10.toFixed(3)}   reference BM25 ${REFERENCE_NDCG.beirPaper} (BEIR paper), ${REFERENCE_NDCG.pyserini} (Pyserini); target ≥ ${TARGET_NDCG}: ${result.ndcg10 >= TARGET_NDCG ? 'met' : 'NOT met'}`,
  );
  console.log(`  recall@100  ${result.recall100.toFixed(3)}`);
  console.log(
    `  ingestion   ${ms(ingestMs)} for ${items.length} chunks (${Math.round(items.length / (ingestMs / 1000))} chunks/s), ${index.averageLength.toFixed(1)} terms/chunk`,
  );
  console.log(
    `  query       p50 ${ms(percentile(result.latenciesMs, 50))}, p99 ${ms(percentile(result.latenciesMs, 99))} (top 100, ${data.queries.length} queries)`,
  );
  console.log(
    `  persistence ${(image.length / 1024 / 1024).toFixed(2)} MB image, written in ${ms(persistMs)}, reloaded in ${ms(reloadMs)}; reloaded index gives identical rankings: ${identical ? 'yes' : 'NO'}`,
  );

  console.log('\nBM25 parameters (same analysed chunks reloaded with other k1/b)');
  for (const parameters of ALTERNATIVE_PARAMETERS) {
    const alternative = evaluate(Bm25Index.fromBinary(image, parameters), data, documentIds);
    console.log(
      `  k1=${parameters.k1.toFixed(1)} b=${parameters.b.toFixed(2)}  nDCG@10 ${alternative.ndcg10.toFixed(3)}  recall@100 ${alternative.recall100.toFixed(3)}`,
    );
  }
}

await main();
