/**
 * npm run bench:filter — what a document-attribute filter costs a search, next to the same search
 * without one (the baseline, same run), and the measurements behind the filter's design:
 *   1. search latency (in process, through the collections service: embed, resolve the filter,
 *      both indexes, read the hits) with filters of different selectivity, hybrid and vector,
 *      as p50 ms and the ratio to the unfiltered search;
 *   2. resolving a filter to chunk ids (`chunkIdsMatching`) with and without a GIN index on
 *      `documents.attributes`;
 *   3. reading top_k 20 hit rows with the document's attributes joined vs read per distinct
 *      document in a second query;
 *   4. the vector index's filtered search: every allowed point scored exactly vs hnswlib's
 *      filtered graph walk, by allowed-set size and graph size (where `prefersExactSearch` comes from).
 *
 * Env: BENCH_CHUNKS (default 3000: documents of 15 chunks), BENCH_VECTORS (default 20 000, part 4),
 * BENCH_DATABASE_URL (default: in-memory PGlite).
 */
import { createRequire } from 'node:module';
import type { DocumentFilter } from '@personas/contracts';
import { sql } from 'kysely';
import { normalize } from '../src/ingestion/embeddings/embedder';
import { retrievalRepository } from '../src/retrieval/retrieval-repository';
import { CollectionVectorIndex } from '../src/retrieval/vector/vector-index';
import { seededRandom } from '../src/test-support/seeded-random';
import { startBenchApp } from './bench-app';
import { readBenchEnv } from './bench-env';
import { percentile } from './load';

const { HierarchicalNSW } = createRequire(import.meta.url)(
  'hnswlib-node',
) as typeof import('hnswlib-node');

const knobs = readBenchEnv();
const CHUNKS = knobs.BENCH_CHUNKS ?? 3000;
const CHUNKS_PER_DOCUMENT = 15;
const DOCUMENTS = Math.ceil(CHUNKS / CHUNKS_PER_DOCUMENT);
const ROUNDS = 60;

const random = seededRandom(42);
const WORDS = (
  'tea water leaf brew steep kettle cup green black oolong temperature minute bitter sweet ' +
  'aroma harvest garden spring autumn ceramic iron pot filter grind roast smoke flower fruit ' +
  'bicycle chain saddle tyre brake gear wheel pedal frame helmet route hill valley river'
).split(' ');
const sentence = () =>
  `${Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')}.`;
/** ~15 chunks at the default chunk size: paragraphs of a few sentences. */
const documentText = () =>
  Array.from(
    { length: CHUNKS_PER_DOCUMENT },
    (_, i) => `## Part ${i}\n\n${Array.from({ length: 9 }, sentence).join(' ')}`,
  ).join('\n\n');

async function time<T>(rounds: number, run: () => Promise<T> | T): Promise<number[]> {
  for (let i = 0; i < 3; i++) await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}
const p50 = (samples: number[]) => percentile(samples, 50);
const fmt = (ms: number) => ms.toFixed(2).padStart(8);

await using bench = await startBenchApp('builder');
const { app, actor } = bench;
const db = app.db;
const collections = app.services.collections;
await collections.create(actor, { name: 'bench' });
const languages = ['en', 'de', 'fr', 'es'];
for (let d = 0; d < DOCUMENTS; d++) {
  const added = await collections.addDocument(actor, {
    name: 'bench',
    file_name: `doc-${d}.md`,
    content: documentText(),
  });
  await db
    .updateTable('documents')
    .set({
      attributes: JSON.stringify({
        language: languages[d % 4],
        year: 2000 + (d % 25),
        team: `team-${d % 50}`,
      }),
    })
    .where('id', '=', added.document_id)
    .execute();
}
const collectionId = (
  await db
    .selectFrom('collections')
    .select('id')
    .where('name', '=', 'bench')
    .executeTakeFirstOrThrow()
).id;
const chunkCount = (
  await db.selectFrom('chunks').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
).n;
console.log(
  `${DOCUMENTS} documents, ${chunkCount} chunks (${bench.databaseKind}), ${ROUNDS} rounds each\n`,
);

// 1. Search latency with and without a filter.
const FILTERS: [string, DocumentFilter | undefined][] = [
  ['none', undefined],
  ['team (2%)', { team: 'team-7' }],
  ['language (25%)', { language: 'en' }],
  ['year, 10 values (40%)', { year: Array.from({ length: 10 }, (_, i) => 2000 + i) }],
  ['language ≠ none (75%)', { language: ['en', 'de', 'fr'] }],
  ['two keys (1%)', { language: 'en', year: [2000, 2004] }],
  ['matches nothing', { language: 'xx' }],
];
console.log('1. search, top_k 10        mode       allowed   p50 ms   p99 ms   p50 vs none');
for (const mode of ['hybrid', 'vector'] as const) {
  let baseline = 0;
  for (const [label, filter] of FILTERS) {
    const input = { name: 'bench', query: 'green tea brew temperature', top_k: 10, mode, filter };
    const samples = await time(ROUNDS, () => collections.search(actor, input));
    const allowed = filter
      ? (await retrievalRepository.chunkIdsMatching(db, [collectionId], filter!)).length
      : chunkCount;
    if (!filter) baseline = p50(samples);
    console.log(
      `   ${label.padEnd(24)} ${mode.padEnd(8)} ${String(allowed).padStart(8)} ${fmt(p50(samples))} ${fmt(percentile(samples, 99))}   ${(p50(samples) / baseline).toFixed(2)}×`,
    );
  }
}

// 2. Resolving a filter to chunk ids, with and without a GIN index on attributes.
console.log('\n2. filter → chunk ids      without GIN   with GIN (jsonb_path_ops)   p50 ms');
const resolveTimes: Record<string, number[]> = {};
for (const withGin of [false, true]) {
  if (withGin) {
    await sql`create index bench_documents_attributes on documents using gin (attributes jsonb_path_ops)`.execute(
      db,
    );
    await sql`analyze documents`.execute(db);
  }
  for (const [label, filter] of FILTERS.slice(1)) {
    const samples = await time(ROUNDS, () =>
      retrievalRepository.chunkIdsMatching(db, [collectionId], filter!),
    );
    resolveTimes[label] = [...(resolveTimes[label] ?? []), p50(samples)];
  }
}
for (const [label, [without, withGin]] of Object.entries(resolveTimes)) {
  console.log(`   ${label.padEnd(24)} ${fmt(without!)}      ${fmt(withGin!)}`);
}
await sql`drop index bench_documents_attributes`.execute(db);

// 3. Hit rows: attributes joined vs per distinct document.
const ids = (
  await db
    .selectFrom('chunks')
    .select('id')
    .where('document_id', 'in', db.selectFrom('documents').select('id').limit(3))
    .limit(20)
    .execute()
).map((r) => Number(r.id));
const joined = await time(ROUNDS * 3, () => retrievalRepository.hitRows(db, ids));
const perDocument = await time(ROUNDS * 3, async () => {
  const rows = await db
    .selectFrom('chunks')
    .innerJoin('documents', 'documents.id', 'chunks.document_id')
    .select(['chunks.id', 'chunks.text', 'chunks.embedding', 'chunks.page', 'chunks.document_id'])
    .select(['documents.file_name', 'documents.doc_path'])
    .where('chunks.id', 'in', ids)
    .execute();
  const documentIds = [...new Set(rows.map((r) => r.document_id))];
  return db
    .selectFrom('documents')
    .select(['id', 'attributes'])
    .where('id', 'in', documentIds)
    .execute();
});
console.log(
  `\n3. top_k 20 hit rows over 3 documents: joined ${p50(joined).toFixed(2)} ms, per document ${p50(perDocument).toFixed(2)} ms (p50)`,
);

// 4. The vector index: exact among the allowed points vs hnswlib's filtered graph walk.
const DIMS = 384;
const vectorRandom = seededRandom(7);
const centres = Array.from({ length: 200 }, () =>
  Array.from({ length: DIMS }, () => vectorRandom() - 0.5),
);
for (const size of [3000, knobs.BENCH_VECTORS ?? 20_000]) {
  const points = Array.from({ length: size }, (_, label) => {
    const centre = centres[label % centres.length]!;
    return { label, vector: normalize(centre.map((x) => x + (vectorRandom() - 0.5) * 0.35)) };
  });
  const index = CollectionVectorIndex.create(DIMS, { initialCapacity: size });
  await index.addInBatches(points);
  const graph = new HierarchicalNSW('cosine', DIMS);
  graph.initIndex({ maxElements: size, m: 16, efConstruction: 100, randomSeed: 100 });
  for (const p of points) graph.addPoint(p.vector as number[], p.label);
  const queries = Array.from({ length: 20 }, (_, i) => points[(i * 997) % size]!.vector);
  console.log(
    `\n4. ${size} × ${DIMS} vectors, k 50   allowed   exact ms   graph ms   search() ms  (p50)`,
  );
  for (const allowed of [16, 64, 256, 1024, 4096]) {
    if (allowed > size / 2) break;
    // Allowed labels spread over the collection, as a filter's documents are.
    const only = new Set(
      Array.from({ length: allowed }, (_, i) => Math.floor((i * size) / allowed)),
    );
    let q = 0;
    const exact = await time(ROUNDS, () => {
      const vector = queries[q++ % queries.length]!;
      const scored: number[] = [];
      for (const label of only) {
        const point = graph.getPoint(label);
        let dot = 0;
        for (let i = 0; i < DIMS; i++) dot += point[i]! * vector[i]!;
        scored.push(dot);
      }
      return scored.sort((a, b) => b - a).slice(0, 50);
    });
    // The beam `search` uses for k 50.
    graph.setEf(100);
    const walk = await time(ROUNDS, () =>
      graph.searchKnn(queries[q++ % queries.length]! as number[], 50, (label) => only.has(label)),
    );
    const viaIndex = await time(ROUNDS, () =>
      index.search(queries[q++ % queries.length]!, 50, only),
    );
    console.log(
      `   ${String(allowed).padStart(36)} ${fmt(p50(exact))}   ${fmt(p50(walk))}   ${fmt(p50(viaIndex))}`,
    );
  }
}
