import { describe, expect, it } from 'vitest';
import { ndcgAtK, recallAtK } from './metrics';

const judgements = (entries: [string, number][]) => new Map(entries);

describe('ndcgAtK', () => {
  it('is 1 for the ideal ranking and 0 with no relevant document retrieved', () => {
    const qrels = judgements([
      ['a', 2],
      ['b', 1],
    ]);
    expect(ndcgAtK(['a', 'b', 'x'], qrels, 10)).toBe(1);
    expect(ndcgAtK(['x', 'y'], qrels, 10)).toBe(0);
  });

  it('discounts by log2(rank + 1) with the grade as gain', () => {
    // Retrieved: x (0), a (grade 2), b (grade 1) → DCG = 2/log2(3) + 1/log2(4) ≈ 1.26186 + 0.5
    // Ideal: a, b → IDCG = 2/1 + 1/log2(3) ≈ 2.63093; nDCG ≈ 1.76186 / 2.63093 ≈ 0.66967
    const qrels = judgements([
      ['a', 2],
      ['b', 1],
    ]);
    const expected = (2 / Math.log2(3) + 0.5) / (2 + 1 / Math.log2(3));
    expect(ndcgAtK(['x', 'a', 'b'], qrels, 10)).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.66967, 5);
  });

  it('cuts both the ranking and the ideal at k', () => {
    // k = 1: retrieved b (1) vs ideal a (2) → 1/2
    const qrels = judgements([
      ['a', 2],
      ['b', 1],
    ]);
    expect(ndcgAtK(['b', 'a'], qrels, 1)).toBe(0.5);
    // Three relevant, k = 2: ideal counts only two of them.
    const three = judgements([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    expect(ndcgAtK(['a', 'b'], three, 2)).toBe(1);
  });

  it('takes the ideal from the judgements, not from what was retrieved', () => {
    // One of two relevant documents found at rank 1: 1 / (1 + 1/log2(3)).
    const qrels = judgements([
      ['a', 1],
      ['b', 1],
    ]);
    expect(ndcgAtK(['a'], qrels, 10)).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
  });

  it('ignores non-positive grades and duplicate ids', () => {
    const qrels = judgements([
      ['a', 1],
      ['z', 0],
      ['n', -1],
    ]);
    expect(ndcgAtK(['z', 'n', 'a'], qrels, 10)).toBeCloseTo(1 / Math.log2(4), 12);
    expect(
      ndcgAtK(
        ['a', 'a'],
        judgements([
          ['a', 1],
          ['b', 1],
        ]),
        10,
      ),
    ).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
  });

  it('is 0 for a query without relevant documents', () => {
    expect(ndcgAtK(['a'], judgements([['a', 0]]), 10)).toBe(0);
  });
});

describe('recallAtK', () => {
  const qrels = judgements([
    ['a', 1],
    ['b', 2],
    ['c', 1],
    ['z', 0],
  ]);

  it('is the fraction of relevant documents in the first k', () => {
    expect(recallAtK(['a', 'x', 'b', 'c'], qrels, 3)).toBeCloseTo(2 / 3, 12);
    expect(recallAtK(['a', 'x', 'b', 'c'], qrels, 4)).toBe(1);
    expect(recallAtK(['z', 'x'], qrels, 10)).toBe(0);
  });

  it('counts duplicates once and is 0 without relevant documents', () => {
    expect(recallAtK(['a', 'a', 'a'], qrels, 3)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(['a'], judgements([]), 10)).toBe(0);
  });
});
