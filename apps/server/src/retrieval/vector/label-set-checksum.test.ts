import { describe, expect, it } from 'vitest';
import { LabelSetDigest, labelSetChecksum } from './label-set-checksum';

describe('labelSetChecksum', () => {
  it('ignores order', () => {
    expect(labelSetChecksum([3, 1, 2])).toBe(labelSetChecksum([1, 2, 3]));
  });

  it('starts with the count and is fixed for the empty set', () => {
    expect(labelSetChecksum([])).toBe('0:00000000:00000000');
    expect(labelSetChecksum([1, 2, 3])).toMatch(/^3:[0-9a-f]{8}:[0-9a-f]{8}$/);
  });

  it('changes when a label is missing, extra or swapped, even when sums agree', () => {
    const base = labelSetChecksum([1, 6, 10]);
    expect(labelSetChecksum([1, 6])).not.toBe(base);
    expect(labelSetChecksum([1, 6, 10, 11])).not.toBe(base);
    // Same count, same sum and same xor of the raw ids: only hashing tells them apart.
    expect(1 + 6).toBe(2 + 5);
    expect(1 ^ 6).toBe(2 ^ 5);
    expect(labelSetChecksum([2, 5, 10])).not.toBe(base);
  });

  it('tells apart ids that differ only above 2^32', () => {
    expect(labelSetChecksum([7])).not.toBe(labelSetChecksum([7 + 2 ** 32]));
  });

  it('is distinct across many small sets', () => {
    const seen = new Set<string>();
    for (let a = 0; a < 60; a++) {
      for (let b = a + 1; b < 60; b++) seen.add(labelSetChecksum([a, b]));
    }
    expect(seen.size).toBe((60 * 59) / 2);
  });
});

describe('LabelSetDigest', () => {
  it('tracks adds and removes to the same value as computing from scratch', () => {
    const digest = new LabelSetDigest();
    for (const label of [5, 9, 100, 7]) digest.add(label);
    digest.remove(9);
    digest.remove(5);
    digest.add(42);
    expect(digest.toString()).toBe(labelSetChecksum([100, 7, 42]));
    digest.remove(100);
    digest.remove(7);
    digest.remove(42);
    expect(digest.toString()).toBe(labelSetChecksum([]));
  });
});
