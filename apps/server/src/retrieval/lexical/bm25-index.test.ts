import { describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../test-support/seeded-random';
import { labelSetChecksum } from '../vector/label-set-checksum';
import { Bm25FormatError, Bm25Index, type Bm25Item, DEFAULT_BM25_PARAMETERS } from './bm25-index';
import { MAX_TERM_FREQUENCY, type PostingList } from './posting-list';
import { TOKENIZER_VERSION, tokenize } from './tokenizer';
import { VarintWriter } from './varint-buffer';

const corpus: Bm25Item[] = [
  { label: 10, text: 'Vitamin D deficiency and bone density in elderly women' },
  { label: 11, text: 'ACE2 receptor expression in lung epithelium' },
  { label: 12, text: 'Bone fractures after falls in elderly patients' },
  { label: 13, text: 'Vitamin C and the common cold: a randomized trial' },
  { label: 14, text: 'Lung cancer screening with low-dose CT' },
];

function indexOf(items: readonly Bm25Item[], parameters = {}): Bm25Index {
  const index = new Bm25Index(parameters);
  index.add(items);
  return index;
}

/** A deterministic synthetic corpus: shared vocabulary, skewed frequencies, varied lengths. */
function syntheticCorpus(size: number, firstLabel = 0): Bm25Item[] {
  const words = ['cell', 'protein', 'gene', 'mouse', 'tumor', 'insulin', 'p53', 'il-6', 'brain'];
  return Array.from({ length: size }, (_, i) => {
    const text: string[] = [];
    for (let j = 0; j < 3 + (i % 17); j++) text.push(words[(i * 7 + j * j) % words.length]!);
    return { label: firstLabel + i, text: `${text.join(' ')} doc${i}` };
  });
}

const queries = [
  'vitamin bone',
  'elderly',
  'lung ACE2',
  'cold trial',
  'cell tumor p53',
  'il6 brain',
];

function results(index: Bm25Index): unknown[] {
  return queries.map((query) => index.search(query, 10));
}

/** Spare capacity summed over the posting lists (white-box: what a load or compaction trims). */
function postingSlack(index: Bm25Index): number {
  const { postings } = index as unknown as { postings: PostingList[] };
  return postings.reduce((sum, list) => sum + list.slots.length - list.length, 0);
}

/** An image by hand, in format 1: what `toBinary` writes, for bytes it would not write itself. */
function handMadeImage(
  terms: string[],
  chunks: [label: number, length: number, pairs: number[]][],
) {
  const out = new VarintWriter();
  const writeString = (value: string) => {
    const bytes = new TextEncoder().encode(value);
    out.writeUint(bytes.length);
    out.writeBytes(bytes);
  };
  out.writeBytes(new TextEncoder().encode('PBM25'));
  out.writeUint(1);
  writeString(TOKENIZER_VERSION);
  out.writeUint(terms.length);
  for (const term of terms) writeString(term);
  out.writeUint(chunks.length);
  for (const [label, length, pairs] of chunks) {
    out.writeUint(label);
    out.writeUint(length);
    out.writeUint(pairs.length / 2);
    for (const value of pairs) out.writeUint(value);
  }
  return out.finish();
}

describe('Bm25Index', () => {
  it('finds the chunk containing an exact rare term first', () => {
    const hits = indexOf(corpus).search('ACE2', 3);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.label).toBe(11);
  });

  it('matches inflected forms through stemming', () => {
    expect(
      indexOf(corpus)
        .search('fracture', 5)
        .map((hit) => hit.label),
    ).toEqual([12]);
  });

  it('scores with the BM25 formula and Lucene idf', () => {
    const index = indexOf([
      { label: 1, text: 'apple banana' },
      { label: 2, text: 'apple apple cherry' },
      { label: 3, text: 'date' },
    ]);
    const { k1, b } = DEFAULT_BM25_PARAMETERS;
    const averageLength = 6 / 3;
    const bm25 = (tf: number, df: number, length: number) =>
      Math.log(1 + (3 - df + 0.5) / (df + 0.5)) *
      ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * length) / averageLength)));

    const [hit] = index.search('cherry', 10);
    expect(hit!.label).toBe(2);
    expect(hit!.score).toBeCloseTo(bm25(1, 1, 3), 12);

    const apple = index.search('apple', 10);
    expect(apple.map((h) => h.label)).toEqual([2, 1]);
    expect(apple[0]!.score).toBeCloseTo(bm25(2, 2, 3), 12);
    expect(apple[1]!.score).toBeCloseTo(bm25(1, 2, 2), 12);
  });

  it('ranks best first, breaks ties by lower label and honours k', () => {
    const index = indexOf([
      { label: 7, text: 'alpha beta' },
      { label: 3, text: 'alpha beta' },
      { label: 5, text: 'alpha' },
    ]);
    const hits = index.search('alpha beta', 10);
    expect(hits.map((hit) => hit.label)).toEqual([3, 7, 5]);
    expect(hits[0]!.score).toBe(hits[1]!.score);
    expect(hits[1]!.score).toBeGreaterThan(hits[2]!.score);
    expect(index.search('alpha beta', 2).map((hit) => hit.label)).toEqual([3, 7]);
  });

  it('returns nothing for empty, stopword-only or unknown queries and for k < 1', () => {
    const index = indexOf(corpus);
    expect(index.search('', 5)).toEqual([]);
    expect(index.search('the of and', 5)).toEqual([]);
    expect(index.search('xylophone', 5)).toEqual([]);
    expect(index.search('vitamin', 0)).toEqual([]);
    expect(new Bm25Index().search('vitamin', 5)).toEqual([]);
  });

  it('filters before the cut to k, with the scores an unfiltered search gives', () => {
    const index = indexOf(syntheticCorpus(500));
    const all = index.search('cell tumor p53', 500);
    // The allowed chunks rank last without a filter: an unfiltered top 5 holds none of them.
    const tail = all.slice(-7);
    const only = new Set(tail.map((h) => h.label));
    expect(all.slice(0, 5).some((h) => only.has(h.label))).toBe(false);
    expect(index.search('cell tumor p53', 5, only)).toEqual(tail.slice(0, 5));
    expect(index.search('cell tumor p53', 50, only)).toEqual(tail);
    expect(index.search('cell tumor p53', 5, new Set())).toEqual([]);
    // Nothing of an earlier filtered search lingers in the next one.
    expect(index.search('cell tumor p53', 500)).toEqual(all);
  });

  it('removal takes a chunk out of results and statistics exactly', () => {
    const index = indexOf(corpus);
    expect(index.documentFrequency('vitamin')).toBe(2);
    index.remove([13]);

    expect(index.search('cold', 5)).toEqual([]);
    expect(index.search('vitamin', 5).map((hit) => hit.label)).toEqual([10]);
    expect(index.count).toBe(4);
    expect(index.has(13)).toBe(false);
    expect(index.labels()).toEqual([10, 11, 12, 14]);
    expect(index.documentFrequency('vitamin')).toBe(1);
    expect(index.documentFrequency('cold')).toBe(0);

    const rebuilt = indexOf(corpus.filter((item) => item.label !== 13));
    expect(index.averageLength).toBe(rebuilt.averageLength);
    expect(results(index)).toEqual(results(rebuilt));
  });

  it('removal is idempotent and ignores unknown labels', () => {
    const index = indexOf(corpus);
    index.remove([12, 12, 999]);
    const once = { results: results(index), checksum: index.checksum(), count: index.count };
    index.remove([12, 999]);
    expect({ results: results(index), checksum: index.checksum(), count: index.count }).toEqual(
      once,
    );
    expect(once.count).toBe(4);
  });

  it('adding an existing label replaces its text', () => {
    const index = indexOf(corpus);
    index.add([{ label: 11, text: 'Influenza vaccination coverage' }]);
    expect(index.count).toBe(5);
    expect(index.search('ACE2', 5)).toEqual([]);
    expect(index.search('influenza', 5).map((hit) => hit.label)).toEqual([11]);
    const rebuilt = indexOf([
      ...corpus.filter((item) => item.label !== 11),
      { label: 11, text: 'Influenza vaccination coverage' },
    ]);
    expect(results(index)).toEqual(results(rebuilt));
  });

  it('counts chunks without indexable words in the statistics', () => {
    const index = indexOf([...corpus, { label: 99, text: 'the and of' }]);
    expect(index.count).toBe(6);
    expect(index.labels()).toContain(99);
    expect(index.search('vitamin', 10).map((hit) => hit.label)).not.toContain(99);
  });

  it('compacts after mass removal and still equals an index of the survivors', () => {
    const items = syntheticCorpus(3000);
    const index = indexOf(items);
    // 2000 removed of 3000: past both compaction thresholds (over 1024, and over the live count).
    const removed = items.filter((_, i) => i % 3 !== 0).map((item) => item.label);
    index.remove(removed);
    const survivors = items.filter((_, i) => i % 3 === 0);
    const rebuilt = indexOf(survivors);
    expect(index.count).toBe(1000);
    expect(index.labels()).toEqual(survivors.map((item) => item.label));
    expect(index.checksum()).toBe(rebuilt.checksum());
    expect(results(index)).toEqual(results(rebuilt));

    // Compaction sized every posting list to its live length.
    expect(postingSlack(index)).toBe(0);

    index.add(syntheticCorpus(10, 5000));
    rebuilt.add(syntheticCorpus(10, 5000));
    expect(results(index)).toEqual(results(rebuilt));
    // Removal after compaction reads the rewritten forward index.
    index.remove([0, 5003, 2997]);
    rebuilt.remove([0, 5003, 2997]);
    expect(results(index)).toEqual(results(rebuilt));
    expect(index.documentFrequency('doc3')).toBe(rebuilt.documentFrequency('doc3'));
  });

  it('stays exact through random adds, replacements and removals across compactions', () => {
    const random = seededRandom(11);
    const pick = (n: number) => Math.floor(random() * n);
    const texts = syntheticCorpus(300).map((item) => item.text);
    const compact = vi.spyOn(Bm25Index.prototype as unknown as { compact(): void }, 'compact');
    const index = new Bm25Index();
    const live = new Map<number, string>();
    const churnQueries = [...queries, 'round3 cell', 'mouse insulin doc17', 'round6'];
    for (let round = 0; round < 60; round++) {
      const batch = Array.from({ length: 150 }, () => ({
        label: pick(600),
        text: `${texts[pick(texts.length)]} round${round % 7}`,
      }));
      index.add(batch);
      for (const { label, text } of batch) live.set(label, text);
      const removed = Array.from({ length: 100 }, () => pick(600));
      index.remove(removed);
      for (const label of removed) live.delete(label);

      if (round % 15 === 14) {
        const rebuilt = indexOf([...live].map(([label, text]) => ({ label, text })));
        expect(index.labels()).toEqual(rebuilt.labels());
        expect(index.checksum()).toBe(rebuilt.checksum());
        expect(index.averageLength).toBe(rebuilt.averageLength);
        for (const word of ['cell', 'round3', 'doc17']) {
          expect(index.documentFrequency(word)).toBe(rebuilt.documentFrequency(word));
        }
        const answers = (target: Bm25Index) => churnQueries.map((q) => target.search(q, 20));
        expect(answers(index)).toEqual(answers(rebuilt));
        expect(answers(Bm25Index.fromBinary(index.toBinary()))).toEqual(answers(rebuilt));
      }
    }
    expect(compact.mock.calls.length).toBeGreaterThanOrEqual(3);
    compact.mockRestore();
  });

  it('clamps a term frequency above 65 535, alike in scores, removal and images', () => {
    const long = { label: 1, text: `${'apple '.repeat(70_000)}banana` };
    const items = [long, { label: 2, text: 'apple cherry' }, { label: 3, text: 'date' }];
    const index = indexOf(items);
    const { k1, b } = DEFAULT_BM25_PARAMETERS;
    // The chunk keeps its true length; only the frequency is clamped.
    const averageLength = (70_001 + 2 + 1) / 3;
    const idf = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5));
    const tf = MAX_TERM_FREQUENCY;
    const [hit] = index.search('apple', 1);
    expect(hit!.label).toBe(1);
    expect(hit!.score).toBeCloseTo(
      (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * 70_001) / averageLength)),
      12,
    );

    const reloaded = Bm25Index.fromBinary(index.toBinary());
    expect(reloaded.search('apple', 3)).toEqual(index.search('apple', 3));
    expect(reloaded.toBinary()).toEqual(index.toBinary());

    index.remove([1]);
    expect(index.documentFrequency('apple')).toBe(1);
    expect(index.documentFrequency('banana')).toBe(0);
    expect(index.search('apple banana', 3)).toEqual(
      indexOf(items.slice(1)).search('apple banana', 3),
    );

    // An image may hold a larger count (written before frequencies were 16-bit): it loads clamped.
    const unclamped = handMadeImage(tokenize('apple banana'), [[1, 70_001, [0, 70_000, 1, 1]]]);
    const loaded = Bm25Index.fromBinary(unclamped);
    const built = indexOf([long]);
    expect(loaded.search('apple', 1)).toEqual(built.search('apple', 1));
    expect(loaded.toBinary()).toEqual(built.toBinary());
  });

  it('stays exact under many replacements of the same labels', () => {
    const index = new Bm25Index();
    for (let round = 0; round < 30; round++) {
      index.add(
        syntheticCorpus(100).map((item) => ({ ...item, text: `${item.text} round${round}` })),
      );
    }
    const rebuilt = indexOf(
      syntheticCorpus(100).map((item) => ({ ...item, text: `${item.text} round29` })),
    );
    expect(index.count).toBe(100);
    expect(index.search('round3', 5)).toEqual([]);
    expect(results(index)).toEqual(results(rebuilt));
    expect(index.documentFrequency('round29')).toBe(100);
  });

  it('rejects labels that are not non-negative safe integers', () => {
    const index = new Bm25Index();
    for (const label of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => index.add([{ label, text: 'x' }])).toThrow(RangeError);
    }
  });

  it('rejects invalid parameters', () => {
    expect(() => new Bm25Index({ b: 1.5 })).toThrow(RangeError);
    expect(() => new Bm25Index({ k1: -1 })).toThrow(RangeError);
  });

  describe('checksum', () => {
    it('depends on the label set only, not on order or text', () => {
      const a = indexOf(corpus);
      const b = indexOf([...corpus].reverse().map((item) => ({ ...item, text: 'other' })));
      expect(a.checksum()).toBe(b.checksum());
      expect(a.checksum()).toBe(labelSetChecksum([14, 13, 12, 11, 10]));
    });

    it('tracks additions and removals', () => {
      const index = indexOf(corpus);
      const before = index.checksum();
      index.remove([11]);
      expect(index.checksum()).toBe(labelSetChecksum([10, 12, 13, 14]));
      expect(index.checksum()).not.toBe(before);
      index.add([{ label: 11, text: 'back again' }]);
      expect(index.checksum()).toBe(before);
    });
  });

  describe('binary serialization', () => {
    it('round-trips to an index with identical results, labels and checksum', () => {
      const index = indexOf([...corpus, ...syntheticCorpus(500, 1000)]);
      index.remove([12, 1003, 1004]);
      const reloaded = Bm25Index.fromBinary(index.toBinary());
      expect(reloaded.count).toBe(index.count);
      expect(reloaded.labels()).toEqual(index.labels());
      expect(reloaded.checksum()).toBe(index.checksum());
      expect(reloaded.averageLength).toBe(index.averageLength);
      expect(results(reloaded)).toEqual(results(index));
      expect(reloaded.toBinary()).toEqual(index.toBinary());
      // Loaded into posting lists of their exact size.
      expect(postingSlack(index)).toBeGreaterThan(0);
      expect(postingSlack(reloaded)).toBe(0);
    });

    it('loads a format 1 image (before postings were stored), and writes it again as format 2', () => {
      // Format 1, written by the previous layout (per-chunk typed arrays, 32-bit frequencies)
      // after these operations. Rewrite it when TOKENIZER_VERSION changes.
      const written = Uint8Array.from(
        Buffer.from(
          'UEJNMjUBDWVuLXBvcnRlcjItdjEWB3ZpdGFtaW4BZAZkZWZpY2kEYm9uZQdkZW5zaXRpBWVsZGVyBXdvbWVuBGx1' +
            'bmcHcGF0aWVudAFjBmNvbW1vbgRjb2xkBnJhbmRvbQV0cmlhbAZjYW5jZXIGc2NyZWVuA2xvdwRkb3NlAmN0CWlu' +
            'Zmx1ZW56YQZ2YWNjaW4HY292ZXJhZwUKBwcAAQEBAQEBAQEBAQEBAQ0GBgABCQEBAQEBAQEBAQ4GBgcBBwEBAQEB' +
            'AQEBAQsFBQUBAwELAQEBAQGHgICAgCAEAgMDAQE=',
          'base64',
        ),
      );
      const index = indexOf(corpus);
      index.remove([12]);
      index.add([
        { label: 11, text: 'Influenza vaccination coverage in elderly patients' },
        { label: 2 ** 40 + 7, text: 'bone bone bone density' },
      ]);
      const loaded = Bm25Index.fromBinary(written);
      expect(loaded.labels()).toEqual([10, 11, 13, 14, 2 ** 40 + 7]);
      expect(loaded.checksum()).toBe(index.checksum());
      expect(results(loaded)).toEqual(results(index));
      expect(loaded.search('bone', 5)).toEqual([
        { label: 2 ** 40 + 7, score: 1.465458538614137 },
        { label: 10, score: 0.7942396792488989 },
      ]);
      // Written again, as format 2: the same index, whichever it is loaded from.
      const image = loaded.toBinary();
      expect(image[5]).toBe(2); // the format, after the magic
      expect(index.toBinary()).toEqual(image);
      const reloaded = Bm25Index.fromBinary(image);
      expect(results(reloaded)).toEqual(results(index));
      expect(reloaded.checksum()).toBe(index.checksum());
      // A removal after a load undoes the right terms (the pairs were copied, not rebuilt).
      reloaded.remove([2 ** 40 + 7]);
      index.remove([2 ** 40 + 7]);
      expect(results(reloaded)).toEqual(results(index));
      expect(reloaded.documentFrequency('bone')).toBe(1);
    });

    it('keeps working incrementally after reloading', () => {
      const index = indexOf(corpus);
      const reloaded = Bm25Index.fromBinary(index.toBinary());
      for (const target of [index, reloaded]) {
        target.remove([10]);
        target.add([{ label: 20, text: 'Vitamin K and coagulation' }]);
      }
      expect(results(reloaded)).toEqual(results(index));
    });

    it('keeps labels beyond 32 bits', () => {
      const label = 2 ** 40 + 7;
      const index = indexOf([{ label, text: 'large identifier' }]);
      const reloaded = Bm25Index.fromBinary(index.toBinary());
      expect(reloaded.search('identifier', 1)[0]!.label).toBe(label);
      expect(reloaded.checksum()).toBe(labelSetChecksum([label]));
    });

    it('applies the BM25 parameters given when loading', () => {
      const image = indexOf(corpus).toBinary();
      const loaded = Bm25Index.fromBinary(image, { k1: 0.9, b: 0.4 });
      expect([loaded.k1, loaded.b]).toEqual([0.9, 0.4]);
      expect(results(loaded)).toEqual(results(indexOf(corpus, { k1: 0.9, b: 0.4 })));
    });

    it('refuses bytes that are not a compatible image', () => {
      const image = indexOf(corpus).toBinary();
      const corrupt = (bytes: Uint8Array) => () => Bm25Index.fromBinary(bytes);
      expect(corrupt(new Uint8Array())).toThrow(Bm25FormatError);
      expect(corrupt(new TextEncoder().encode('not an index'))).toThrow(Bm25FormatError);
      expect(corrupt(image.subarray(0, image.length - 3))).toThrow(Bm25FormatError);
      expect(corrupt(new Uint8Array([...image, 0]))).toThrow(Bm25FormatError);
      const otherVersion = image.slice();
      otherVersion[5] = 99;
      expect(corrupt(otherVersion)).toThrow(/format 99/);
    });

    it('refuses term ids that repeat or run past the terms', () => {
      const terms = tokenize('apple banana');
      expect(() => Bm25Index.fromBinary(handMadeImage(terms, [[1, 2, [1, 1, 0, 1]]]))).toThrow(
        /not ascending/,
      );
      expect(() => Bm25Index.fromBinary(handMadeImage(terms, [[1, 2, [0, 1, 2, 1]]]))).toThrow(
        /out of range/,
      );
      expect(() =>
        Bm25Index.fromBinary(handMadeImage(terms, [[1, 3, [0, 1, 1, 1, 1, 1]]])),
      ).toThrow(Bm25FormatError);
      expect(Bm25Index.fromBinary(handMadeImage(terms, [[1, 2, [0, 1, 1, 1]]])).count).toBe(1);
    });
  });
});
