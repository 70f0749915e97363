import { describe, expect, it } from 'vitest';
import { type Embedder, ensureDimensions, normalize } from './embedder';

describe('normalize', () => {
  it('scales to unit length and keeps direction', () => {
    expect(normalize([3, 4])).toEqual([0.6, 0.8]);
    const v = normalize([1, -2, 3, 0.5]);
    expect(Math.hypot(...v)).toBeCloseTo(1, 12);
    expect(v[1]! / v[0]!).toBeCloseTo(-2, 12);
  });

  it('leaves a zero vector zero instead of NaN', () => {
    expect(normalize([0, 0, 0])).toEqual([0, 0, 0]);
    expect(normalize([])).toEqual([]);
  });

  it('refuses NaN and infinities rather than spreading them', () => {
    expect(() => normalize([1, Number.NaN])).toThrow(RangeError);
    expect(() => normalize([Number.POSITIVE_INFINITY, 1])).toThrow(RangeError);
  });
});

describe('ensureDimensions', () => {
  it('uses known dimensions without calling the model', async () => {
    const calls: string[][] = [];
    const embedder: Embedder = {
      model: 'm',
      dimensions: 3,
      embed: async (texts) => {
        calls.push(texts);
        return texts.map(() => [1, 0, 0]);
      },
    };
    expect(await ensureDimensions(embedder)).toBe(3);
    expect(calls).toEqual([]);
  });

  it('asks the model once when the size is not known yet', async () => {
    const embedder: Embedder = {
      model: 'm',
      dimensions: 0,
      embed: async (texts) => texts.map(() => [0, 1, 0, 0, 0]),
    };
    expect(await ensureDimensions(embedder)).toBe(5);
  });
});
