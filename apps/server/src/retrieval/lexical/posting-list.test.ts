import { describe, expect, it } from 'vitest';
import { PostingList } from './posting-list';

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
});
