import { describe, expect, it } from 'vitest';
import {
  createHashingEmbedder,
  HASHING_EMBEDDER_DIMENSIONS,
  HASHING_EMBEDDER_MODEL,
  hashingEmbedding,
} from './hashing-embedder';

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const norm = (v: number[]) => Math.sqrt(cosine(v, v));

describe('hashing embedder', () => {
  const embedder = createHashingEmbedder();

  it('declares its model and size', () => {
    expect(embedder.model).toBe(HASHING_EMBEDDER_MODEL);
    expect(embedder.dimensions).toBe(384);
    expect(HASHING_EMBEDDER_DIMENSIONS).toBe(384);
  });

  it('gives identical text identical vectors, one per input, in order', async () => {
    const [a, b, c] = await embedder.embed(['same text', 'other text', 'same text']);
    expect(a).toEqual(c);
    expect(a).not.toEqual(b);
    expect(a).toHaveLength(384);
    expect(await createHashingEmbedder().embed(['same text'])).toEqual([a]);
  });

  it('stays the same vector across releases (stored embeddings depend on it)', () => {
    const v = hashingEmbedding('Personas answer from their knowledge.', 384);
    const firstNonZero = v
      .map((x, i) => [i, Number(x.toFixed(6))] as const)
      .filter(([, x]) => x !== 0)
      .slice(0, 5);
    expect(firstNonZero).toEqual([
      [1, -0.075199],
      [3, -0.075199],
      [8, 0.075199],
      [12, 0.075199],
      [13, -0.075199],
    ]);
    expect(v.filter((x) => x !== 0)).toHaveLength(71);
  });

  it('returns unit vectors', async () => {
    const vectors = await embedder.embed([
      'a',
      'The quick brown fox jumps over the lazy dog. '.repeat(40),
      'Ünïcödé, 日本語のテキスト, and digits 12345',
    ]);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 10);
  });

  it('scores related texts above unrelated ones', async () => {
    const [query, related, paraphrase, unrelated] = await embedder.embed([
      'How do I install the server on Linux?',
      'Installing the server on a Linux machine',
      'Server installation guide for linux',
      'Chocolate cake recipe with eggs and butter',
    ]);
    expect(cosine(query!, related!)).toBeGreaterThan(cosine(query!, unrelated!) + 0.2);
    expect(cosine(query!, paraphrase!)).toBeGreaterThan(cosine(query!, unrelated!) + 0.2);
  });

  it('matches across case, inflection and Unicode compatibility forms', () => {
    const base = hashingEmbedding('Embedding vectors', 384);
    expect(cosine(base, hashingEmbedding('EMBEDDING VECTORS', 384))).toBeCloseTo(1, 10);
    expect(cosine(base, hashingEmbedding('ｅｍｂｅｄｄｉｎｇ vectors', 384))).toBeCloseTo(1, 10);
    // No word in common, but most character n-grams: still far closer than an unrelated text.
    const unrelated = cosine(base, hashingEmbedding('chocolate cake', 384));
    expect(cosine(base, hashingEmbedding('embedded vector', 384))).toBeGreaterThan(unrelated + 0.2);
  });

  it('embeds text without letters or digits as the zero vector, without NaN', async () => {
    const [empty, punctuation] = await embedder.embed(['', ' ... !!! ']);
    for (const v of [empty!, punctuation!]) {
      expect(v).toHaveLength(384);
      expect(v.every((x) => x === 0)).toBe(true);
    }
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client went away'));
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toThrow(
      'client went away',
    );
  });

  it('returns nothing for no texts', async () => {
    expect(await embedder.embed([])).toEqual([]);
  });
});
