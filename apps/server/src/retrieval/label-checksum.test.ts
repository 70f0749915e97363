import { describe, expect, it } from 'vitest';
import { LabelChecksum, labelSetChecksum } from './label-checksum';

describe('labelSetChecksum', () => {
  it('is independent of order', () => {
    expect(labelSetChecksum([3, 1, 2])).toBe(labelSetChecksum([1, 2, 3]));
  });

  it('has the form count:xor:sum', () => {
    expect(labelSetChecksum([])).toBe('0:00000000:00000000');
    expect(labelSetChecksum([1, 2, 3])).toMatch(/^3:[0-9a-f]{8}:[0-9a-f]{8}$/);
  });

  it('tells apart sets of equal size and equal label sum', () => {
    expect(labelSetChecksum([1, 4])).not.toBe(labelSetChecksum([2, 3]));
    expect(labelSetChecksum([0])).not.toBe(labelSetChecksum([1]));
  });

  it('tells apart labels that differ only above 32 bits', () => {
    expect(labelSetChecksum([5])).not.toBe(labelSetChecksum([2 ** 32 + 5]));
  });

  it('detects a missing label in a large set', () => {
    const labels = Array.from({ length: 10_000 }, (_, i) => i * 3 + 1);
    const full = labelSetChecksum(labels);
    for (const missing of [0, 4_999, 9_999]) {
      expect(labelSetChecksum(labels.filter((_, i) => i !== missing))).not.toBe(full);
    }
  });
});

describe('LabelChecksum', () => {
  it('returns to the same value when a label is added and deleted again', () => {
    const checksum = new LabelChecksum();
    for (const label of [10, 20, 30]) checksum.add(label);
    const before = checksum.toString();
    checksum.add(40);
    expect(checksum.toString()).toBe(labelSetChecksum([10, 20, 30, 40]));
    checksum.delete(40);
    expect(checksum.toString()).toBe(before);
  });
});
