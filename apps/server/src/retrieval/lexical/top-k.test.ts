import { describe, expect, it } from 'vitest';
import { topK } from './top-k';

function select(scores: number[], k: number, labels = scores.map((_, i) => i)): number[] {
  const candidates = Int32Array.from(scores.keys());
  return topK(
    candidates,
    candidates.length,
    Float64Array.from(scores),
    Float64Array.from(labels),
    k,
  );
}

describe('topK', () => {
  it('returns the k best slots, best first', () => {
    expect(select([0.5, 2, 1, 3, 0.1], 3)).toEqual([3, 1, 2]);
  });

  it('returns all candidates, sorted, when k exceeds their number', () => {
    expect(select([1, 3, 2], 10)).toEqual([1, 2, 0]);
  });

  it('breaks ties by the lower label', () => {
    expect(select([1, 1, 1], 2, [30, 10, 20])).toEqual([1, 2]);
  });

  it('agrees with a full sort on many candidates', () => {
    const scores = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) / 10);
    const expected = [...scores.keys()]
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, 25);
    expect(select(scores, 25)).toEqual(expected);
  });

  it('considers only the first `count` candidates', () => {
    const candidates = Int32Array.from([0, 1, 2]);
    const scores = Float64Array.from([1, 2, 3]);
    expect(topK(candidates, 2, scores, Float64Array.from([0, 1, 2]), 5)).toEqual([1, 0]);
  });

  it('returns nothing for k = 0', () => {
    expect(select([1, 2], 0)).toEqual([]);
  });
});
