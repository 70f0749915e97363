import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { collectionsRepository } from '../collections/repository';
import type { Db } from '../db/connect';
import { chunkEmbeddingText } from '../ingestion/chunker';
import type { Logger } from '../logger';
import { Bm25Index } from './lexical/bm25-index';
import { chunkTexts, createPostgresChunkSource } from './postgres-chunk-source';
import { type OpenReport, VectorIndexStore } from './vector/vector-index-store';

/**
 * What the knowledge service needs from the in-process indexes of each collection: the HNSW
 * vector index and the lexical (BM25) one. Both are caches of the chunks table, keyed by chunk id;
 * Postgres stays the source of truth.
 */
export interface ChunkIndexes {
  add(
    collectionId: string,
    chunks: { label: number; vector: number[]; text: string }[],
  ): Promise<void>;
  remove(collectionId: string, labels: number[]): Promise<void>;
  drop(collectionId: string): Promise<void>;
  /** Nearest chunks by cosine similarity over normalized vectors, best first. */
  nearest(collectionId: string, vector: number[], k: number): { label: number; cosine: number }[];
  /** Best lexical (BM25) matches, best first. */
  lexical(collectionId: string, query: string, k: number): number[];
}

/** Chunks tokenized per slice (~15 ms) before yielding to other requests. */
const LEXICAL_BATCH = 100;

/**
 * Opens the indexes of every collection: vector indexes from their files under
 * `dataDir/indexes` when they match Postgres (rebuilt otherwise), lexical indexes rebuilt from
 * the chunks table (a few seconds for 50k chunks), so both agree with Postgres after any crash.
 */
export async function openChunkIndexes(
  db: Db,
  dataDir: string,
  logger: Logger,
): Promise<ChunkIndexes & { report: OpenReport; close(): Promise<void> }> {
  const vectors = new VectorIndexStore({
    directory: path.join(dataDir, 'indexes'),
    source: createPostgresChunkSource(db),
    // Not data loss: an index behind Postgres is rebuilt at the next start.
    onPersistError: (err, collectionId) =>
      logger.error({ err, collectionId }, 'a vector index could not be saved; retried later'),
  });
  const report = await vectors.openAll();
  const lexicalIndexes = new Map<string, Bm25Index>();
  const lexicalOf = (collectionId: string) => {
    let index = lexicalIndexes.get(collectionId);
    if (!index) {
      index = new Bm25Index();
      lexicalIndexes.set(collectionId, index);
    }
    return index;
  };
  for (const id of await collectionsRepository.allIds(db)) {
    const index = lexicalOf(id);
    for await (const page of chunkTexts(db, id)) {
      index.add(page.map((c) => ({ label: c.label, text: chunkEmbeddingText(c) })));
      await yieldToEventLoop();
    }
  }

  return {
    report,
    async add(collectionId, chunks) {
      await vectors.add(collectionId, chunks);
      const lexical = lexicalOf(collectionId);
      for (let i = 0; i < chunks.length; i += LEXICAL_BATCH) {
        lexical.add(
          chunks.slice(i, i + LEXICAL_BATCH).map((c) => ({ label: c.label, text: c.text })),
        );
        await yieldToEventLoop();
      }
    },
    async remove(collectionId, labels) {
      lexicalIndexes.get(collectionId)?.remove(labels);
      await vectors.remove(collectionId, labels);
    },
    async drop(collectionId) {
      lexicalIndexes.delete(collectionId);
      await vectors.drop(collectionId);
    },
    nearest(collectionId, vector, k) {
      return vectors
        .search(collectionId, vector, k)
        .map((h) => ({ label: h.label, cosine: h.cosineSimilarity }));
    },
    lexical(collectionId, query, k) {
      return (lexicalIndexes.get(collectionId)?.search(query, k) ?? []).map((h) => h.label);
    },
    close: () => vectors.close(),
  };
}
