import type { DocumentFilter, QueryMetric, RagHit, RagMode } from '@personas/contracts';
import type { Db } from '../db/connect';
import type { Embedder } from '../ingestion/embeddings/embedder';
import { HASHING_EMBEDDER_MODEL } from '../ingestion/embeddings/hashing-embedder';
import type { ChunkIndexes } from './chunk-indexes';
import { reciprocalRankFusion } from './rank-fusion';
import { retrievalRepository } from './retrieval-repository';
import { decodeVector } from './vector/vector-codec';

export interface RetrievalRequest {
  collectionIds: string[];
  query: string;
  topK: number;
  metric: QueryMetric;
  threshold: number;
  mode: RagMode;
  /** Only chunks of documents whose attributes match; none or `{}` filters nothing. */
  filter?: DocumentFilter;
  signal?: AbortSignal;
}

/** How many candidates each retriever proposes per collection before fusion and the cut to top_k. */
const CANDIDATES_PER_RETRIEVER = 50;

/**
 * Hybrid mode's weighted reciprocal rank fusion (Cormack et al., 2009):
 * score(chunk) = Σ weight / (k + rank) over the candidate lists that hold the chunk.
 */
export interface Fusion {
  k: number;
  vectorWeight: number;
  lexicalWeight: number;
}

/**
 * Weights by how good the embedder is next to BM25. Measured on BEIR SciFact (bench:quality): the
 * offline hashing embedder scores nDCG@10 0.37 against BM25's 0.68, and equal weights with k = 60
 * drag hybrid down to 0.53; k = 10 with the vector list at a tenth of the lexical one keeps BM25's
 * quality (0.679 vs 0.676, paired +0.003 ± 0.003): lexical order, the vector side breaking
 * near-ties and filling in where the lexical side finds little (a misspelt query). A real embedding
 * model is about as good as BM25 there (all-MiniLM-L6-v2 0.645), so it keeps equal weights, k = 60.
 */
export function defaultFusion(embedder: Pick<Embedder, 'model'>): Fusion {
  return embedder.model === HASHING_EMBEDDER_MODEL
    ? { k: 10, vectorWeight: 0.1, lexicalWeight: 1 }
    : { k: 60, vectorWeight: 1, lexicalWeight: 1 };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Does a chunk pass the persona's threshold in its metric? (cosine: ≥; euclidean: ≤) */
export function passes(metric: QueryMetric, threshold: number, cosine: number, euclidean: number) {
  return metric === 'cosine' ? cosine >= threshold : euclidean <= threshold;
}

/**
 * The retrieval a persona does: candidates from the vector index (and, in hybrid mode, the
 * lexical index) of every collection — among the chunks of the documents a filter allows, when
 * one is given — ranked, cut to top_k, then scored exactly against the stored embeddings so both
 * distances mean what they say. Returns the top_k candidates in rank order, each flagged with
 * whether it passes the threshold and saying where it came from (document, page, attributes).
 */
export function createRetriever(
  db: Db,
  embedder: Embedder,
  indexes: ChunkIndexes,
  fusion: Fusion = defaultFusion(embedder),
) {
  return async function retrieve(req: RetrievalRequest): Promise<RagHit[]> {
    if (req.collectionIds.length === 0) return [];
    await indexes.whenLoaded();
    // A filter becomes the set of chunk ids it allows, which both indexes apply before their cut:
    // so a filter never leaves fewer hits than there are matching chunks. Resolved while the
    // query is embedded (a round trip to a model server, with a hosted embedder).
    const filtered = req.filter !== undefined && Object.keys(req.filter).length > 0;
    const [[queryVector], allowed] = await Promise.all([
      embedder.embed([req.query], { signal: req.signal }),
      filtered ? retrievalRepository.chunkIdsMatching(db, req.collectionIds, req.filter!) : null,
    ]);
    if (!queryVector) return [];
    const only = allowed ? new Set(allowed) : undefined;
    if (only?.size === 0) return [];
    const pool = Math.max(CANDIDATES_PER_RETRIEVER, req.topK);

    let candidates: number[];
    if (req.mode === 'hybrid') {
      const lists: { label: number }[][] = [];
      const weights: number[] = [];
      for (const collectionId of req.collectionIds) {
        lists.push(indexes.nearest(collectionId, queryVector, pool, only));
        weights.push(fusion.vectorWeight);
        lists.push(
          indexes.lexical(collectionId, req.query, pool, only).map((label) => ({ label })),
        );
        weights.push(fusion.lexicalWeight);
      }
      candidates = reciprocalRankFusion(lists, { k: fusion.k, limit: req.topK, weights }).map(
        (hit) => hit.label,
      );
    } else {
      candidates = req.collectionIds
        .flatMap((collectionId) => indexes.nearest(collectionId, queryVector, req.topK, only))
        .sort((a, b) => b.cosine - a.cosine || a.label - b.label)
        .slice(0, req.topK)
        .map((n) => n.label);
    }

    const rows = await retrievalRepository.hitRows(db, candidates);
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    const hits = candidates.flatMap((label) => {
      const row = byId.get(label);
      // A chunk deleted between the index lookup and this read is simply not a hit.
      if (!row) return [];
      const cosine = Math.max(-1, Math.min(1, dot(queryVector, decodeVector(row.embedding))));
      const euclidean = Math.sqrt(Math.max(0, 2 - 2 * cosine));
      return [
        {
          document_id: row.document_id,
          file_name: row.file_name,
          doc_path: row.doc_path,
          page: row.page,
          attributes: row.attributes,
          document_string: row.text,
          cosine_similarity: cosine,
          euclidean_distance: euclidean,
          success: passes(req.metric, req.threshold, cosine, euclidean),
        },
      ];
    });
    return hits;
  };
}
export type Retrieve = ReturnType<typeof createRetriever>;
