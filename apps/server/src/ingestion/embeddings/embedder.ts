export interface EmbedOptions {
  signal?: AbortSignal;
}

/**
 * Turns texts into vectors of one fixed length. A collection records `model` and `dimensions`
 * when it is created and refuses vectors from any other embedder.
 */
export interface Embedder {
  readonly model: string;
  /** 0 only for a remote embedder whose size was not configured and has not answered yet. */
  readonly dimensions: number;
  /** One L2-normalized vector per text, in order. */
  embed(texts: string[], opts?: EmbedOptions): Promise<number[][]>;
}

/**
 * Scales a vector to unit length, so cosine similarity is a dot product and one index answers
 * both metrics. A zero vector (nothing to embed) stays zero rather than turning into NaNs.
 */
export function normalize(vector: readonly number[]): number[] {
  let sumOfSquares = 0;
  for (const x of vector) sumOfSquares += x * x;
  if (sumOfSquares === 0 || !Number.isFinite(sumOfSquares)) {
    if (sumOfSquares === 0) return vector.map(() => 0);
    throw new RangeError('Cannot normalize a vector holding NaN or infinite values');
  }
  const norm = Math.sqrt(sumOfSquares);
  return vector.map((x) => x / norm);
}

/** The embedder's dimensions, asking it for one embedding first when it does not know them yet. */
export async function ensureDimensions(embedder: Embedder, opts?: EmbedOptions): Promise<number> {
  if (embedder.dimensions > 0) return embedder.dimensions;
  const [vector] = await embedder.embed(['dimensions probe'], opts);
  return vector?.length ?? 0;
}
