import { describe, expect, it } from 'vitest';
import { MAX_TERM_FREQUENCY, PostingList } from './posting-list';

describe('PostingList', () => {
  it('keeps every pushed entry in order while growing', () => {
    const list = new PostingList();
    for (let i = 0; i < 1000; i++) list.push(i * 2, (i % 7) + 1);
    expect(list.length).toBe(1000);
    expect(list.slots.length).toBeGreaterThanOrEqual(1000);
    expect(Array.from(list.slots.subarray(0, 5))).toEqual([0, 2, 4, 6, 8]);
    expect(list.slots[999]).toBe(1998);
    expect(Array.from(list.frequencies.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 1]);
  });

  it('starts empty', () => {
    expect(new PostingList().length).toBe(0);
  });

  it('grows by half, from at least 4', () => {
    const capacities: number[] = [];
    for (const initial of [0, 2]) {
      const list = new PostingList(initial);
      for (let i = 0; i < 20; i++) {
        list.push(i, 1);
        if (capacities.at(-1) !== list.slots.length) capacities.push(list.slots.length);
      }
      expect(list.frequencies.length).toBe(list.slots.length);
    }
    expect(capacities).toEqual([4, 6, 9, 14, 21, 2, 4, 6, 9, 14, 21]);
  });

  it('holds frequencies up to MAX_TERM_FREQUENCY', () => {
    const list = new PostingList();
    list.push(3, MAX_TERM_FREQUENCY);
    expect(MAX_TERM_FREQUENCY).toBe(65_535);
    expect(list.frequencies[0]).toBe(MAX_TERM_FREQUENCY);
  });

  it('trims to its length, keeping its entries, and grows again after', () => {
    const list = new PostingList();
    for (let i = 0; i < 10; i++) list.push(i, i + 1);
    expect(list.slots.length).toBe(14);
    list.trim();
    expect([list.slots.length, list.frequencies.length]).toEqual([10, 10]);
    expect(Array.from(list.slots)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(list.frequencies)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    list.push(10, 11);
    expect(list.length).toBe(11);
    expect(list.slots.length).toBe(15);
    expect([list.slots[10], list.frequencies[10]]).toEqual([10, 11]);

    const empty = new PostingList();
    empty.trim();
    expect([empty.slots.length, empty.length]).toEqual([0, 0]);
    empty.push(1, 1);
    expect(Array.from(empty.slots)).toEqual([1, 0, 0, 0]);
  });
});
