import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { fmix32, fnv1a32, fnv1aCodePoint } from '../../lib/hash32';
import type { Embedder, EmbedOptions } from './embedder';

export const HASHING_EMBEDDER_MODEL = 'offline-hashing-v1';
export const HASHING_EMBEDDER_DIMENSIONS = 384;

// Independent hash families per feature kind, so the word "the" and the trigram "the" differ.
const WORD_BASIS = 0x811c9dc5;
const BIGRAM_BASIS = 0x2b5f8a1d;
const GRAM_BASIS = 0x6c8e9cf5;
const SIGN_SEED = 0x5bd1e995;

// A word yields about three character n-grams per letter; weighting each n-gram below a whole
// word keeps spelling similarity a tie-breaker rather than the main signal, and bigrams reward
// shared phrases without drowning single-word matches. Changing any of these changes every
// vector: that is a new model name, not a tweak to this one.
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.6;
const GRAM_WEIGHT = 0.25;
const MIN_GRAM = 3;
const MAX_GRAM = 5;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const BOUNDARY_START = 0x3c; // '<'
const BOUNDARY_END = 0x3e; // '>'

// Yield to the event loop after this much work, so embedding a large document does not stall
// requests that are waiting behind it.
const SLICE_MS = 10;

/**
 * The offline default: signed feature hashing of words, word bigrams and the character 3- to
 * 5-grams of each word (with `<` `>` boundary markers), weighted by sublinear term frequency and
 * L2-normalized. Deterministic across runs and machines; no model files, no network. It matches
 * shared words and spellings, not meaning — good enough to make retrieval work out of the box.
 */
export function createHashingEmbedder(): Embedder {
  return {
    model: HASHING_EMBEDDER_MODEL,
    dimensions: HASHING_EMBEDDER_DIMENSIONS,
    async embed(texts: string[], opts?: EmbedOptions): Promise<number[][]> {
      const vectors: number[][] = [];
      let sliceStart = performance.now();
      for (const text of texts) {
        opts?.signal?.throwIfAborted();
        vectors.push(hashingEmbedding(text, HASHING_EMBEDDER_DIMENSIONS));
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
      return vectors;
    },
  };
}

/** The embedding of one text; a text with no letters or digits gets the zero vector. */
export function hashingEmbedding(text: string, dimensions: number): number[] {
  const words = new Map<number, number>();
  const bigrams = new Map<number, number>();
  const grams = new Map<number, number>();
  let previous: number | null = null;

  for (const [word] of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    const wordHash = fnv1a32(word, WORD_BASIS);
    increment(words, wordHash);
    if (previous !== null)
      increment(bigrams, fmix32(Math.imul(previous, 31) ^ wordHash ^ BIGRAM_BASIS));
    previous = wordHash;
    addGrams(grams, word);
  }

  const vector = new Float64Array(dimensions);
  accumulate(vector, words, WORD_WEIGHT);
  accumulate(vector, bigrams, BIGRAM_WEIGHT);
  accumulate(vector, grams, GRAM_WEIGHT);

  let sumOfSquares = 0;
  for (const x of vector) sumOfSquares += x * x;
  const norm = Math.sqrt(sumOfSquares);
  return Array.from(vector, (x) => (norm === 0 ? 0 : x / norm));
}

function increment(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Hashes each n-gram incrementally from its start, so no substring is ever built. */
function addGrams(grams: Map<number, number>, word: string): void {
  const codePoints = [BOUNDARY_START];
  for (const char of word) codePoints.push(char.codePointAt(0)!);
  codePoints.push(BOUNDARY_END);
  for (let i = 0; i + MIN_GRAM <= codePoints.length; i++) {
    let h = GRAM_BASIS;
    const last = Math.min(i + MAX_GRAM, codePoints.length);
    for (let j = i; j < last; j++) {
      h = fnv1aCodePoint(h, codePoints[j]!);
      if (j - i + 1 >= MIN_GRAM) increment(grams, h);
    }
  }
}

function accumulate(vector: Float64Array, counts: Map<number, number>, weight: number): void {
  for (const [feature, tf] of counts) {
    const mixed = fmix32(feature);
    const bucket = mixed % vector.length;
    const sign = fmix32(feature ^ SIGN_SEED) & 1 ? -1 : 1;
    vector[bucket]! += sign * weight * (1 + Math.log(tf));
  }
}
