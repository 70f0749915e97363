import { describe, expect, it } from 'vitest';
import { ENGLISH_STOPWORDS } from './stopwords';

describe('ENGLISH_STOPWORDS', () => {
  it('is Lucene’s 33-word English stop set', () => {
    expect(ENGLISH_STOPWORDS.size).toBe(33);
    for (const word of ['the', 'of', 'and', 'a', 'is', 'not', 'with']) {
      expect(ENGLISH_STOPWORDS.has(word)).toBe(true);
    }
  });

  it('keeps words that carry meaning in queries', () => {
    for (const word of ['between', 'after', 'during', 'without', 'increase', 'cell']) {
      expect(ENGLISH_STOPWORDS.has(word)).toBe(false);
    }
  });
});
