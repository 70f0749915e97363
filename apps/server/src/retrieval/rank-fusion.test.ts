import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from './rank-fusion';

const list = (...labels: number[]) => labels.map((label) => ({ label }));

describe('reciprocalRankFusion', () => {
  it('sums 1 / (k + rank) over the lists containing each label', () => {
    const fused = reciprocalRankFusion([list(1, 2, 3), list(3, 1)]);
    expect(fused.map((hit) => hit.label)).toEqual([1, 3, 2]);
    expect(fused[0]).toEqual({ label: 1, score: 1 / 61 + 1 / 62, ranks: [1, 2] });
    expect(fused[1]).toEqual({ label: 3, score: 1 / 63 + 1 / 61, ranks: [3, 1] });
    expect(fused[2]).toEqual({ label: 2, score: 1 / 62, ranks: [2, null] });
  });

  it('favours agreement between lists over a single top rank', () => {
    const fused = reciprocalRankFusion([list(9, 5), list(7, 5), list(8, 5)]);
    expect(fused[0]!.label).toBe(5);
  });

  it('honours k and limit', () => {
    const fused = reciprocalRankFusion([list(1, 2, 3, 4)], { k: 0, limit: 2 });
    expect(fused).toEqual([
      { label: 1, score: 1, ranks: [1] },
      { label: 2, score: 1 / 2, ranks: [2] },
    ]);
  });

  it('counts a label repeated within one list at its first rank only', () => {
    const [hit] = reciprocalRankFusion([list(4, 4, 4)]);
    expect(hit).toEqual({ label: 4, score: 1 / 61, ranks: [1] });
  });

  it('breaks score ties by best rank, then by label', () => {
    // 2 and 6 both score 1/61; 4 and 3 both score 1/62.
    const fused = reciprocalRankFusion([list(6, 4), list(2, 3)]);
    expect(fused.map((hit) => hit.label)).toEqual([2, 6, 3, 4]);
  });

  it('handles no lists and empty lists', () => {
    expect(reciprocalRankFusion([])).toEqual([]);
    expect(reciprocalRankFusion([[], list(1)])).toEqual([
      { label: 1, score: 1 / 61, ranks: [null, 1] },
    ]);
  });

  it('weighs each list by its weight', () => {
    const fused = reciprocalRankFusion([list(1, 2), list(2, 1)], { k: 10, weights: [0.1, 1] });
    expect(fused.map((hit) => hit.label)).toEqual([2, 1]);
    expect(fused[0]!.score).toBeCloseTo(0.1 / 12 + 1 / 11, 12);
  });

  it('rejects negative k or limit', () => {
    expect(() => reciprocalRankFusion([list(1)], { k: -1 })).toThrow(RangeError);
    expect(() => reciprocalRankFusion([list(1)], { limit: -1 })).toThrow(RangeError);
  });
});
