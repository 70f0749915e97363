import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../test-support/seeded-random';
import { Bm25Index, type Bm25Item } from './bm25-index';

// Zipf-like: the first words are in most chunks (long lists, tiny idf), the last in a few.
const VOCABULARY = [
  'cell',
  'protein',
  'gene',
  'mouse',
  'tumor',
  'insulin',
  'brain',
  'liver',
  'virus',
  'blood',
  'heart',
  'kidney',
  'retina',
  'zebrafish',
];

function pickWord(random: () => number): string {
  // P(word i) ∝ 1 / (i + 1).
  const total = VOCABULARY.reduce((sum, _, i) => sum + 1 / (i + 1), 0);
  let r = random() * total;
  for (let i = 0; i < VOCABULARY.length; i++) {
    r -= 1 / (i + 1);
    if (r < 0) return VOCABULARY[i]!;
  }
  return VOCABULARY[VOCABULARY.length - 1]!;
}

/**
 * Short chunks over a small vocabulary: long lists and many chunks with the same terms and length,
 * hence exact score ties. Labels are shuffled so that slot order says nothing about label order.
 */
function randomCorpus(random: () => number, size: number): Bm25Item[] {
  const labels = Array.from({ length: size }, (_, i) => 3 * i + 1);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return labels.map((label) => {
    const words = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pickWord(random));
    return { label, text: words.join(' ') };
  });
}

function randomQuery(random: () => number): string {
  const words = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
    random() < 0.3
      ? VOCABULARY[VOCABULARY.length - 1 - Math.floor(random() * 4)]! // a rare word
      : pickWord(random),
  );
  // Now and then a word repeated, a stopword or a word no chunk has.
  if (random() < 0.3) words.push(words[0]!);
  if (random() < 0.1) words.push('the');
  if (random() < 0.1) words.push('xylophone');
  return words.join(' ');
}

function searchBoth(index: Bm25Index, query: string, k: number, only?: ReadonlySet<number>) {
  index.pruning.minPostings = 0;
  const pruned = index.search(query, k, only);
  index.pruning.minPostings = Number.POSITIVE_INFINITY;
  const exhaustive = index.search(query, k, only);
  return { pruned, exhaustive };
}

/**
 * An index whose pruned search walks windows of 64 slots, as it walks a collection of millions in
 * windows of thousands: the split into essential and non-essential terms is revised per window, so
 * with one window for the whole corpus the non-essential lists would never be used.
 */
function prunedIndex(items: readonly Bm25Item[], parameters = {}): Bm25Index {
  const index = new Bm25Index(parameters);
  index.pruning.window = 64;
  index.add(items);
  return index;
}

/**
 * Both paths add each chunk's contributions in the same order, so the hits are equal exactly:
 * labels, order and scores to the bit (a looser toBeCloseTo would let exact ties go either way).
 */
function expectSame({ pruned, exhaustive }: ReturnType<typeof searchBoth>, context: string): void {
  expect(pruned, context).toEqual(exhaustive);
}

describe('Bm25Index pruned search (MaxScore)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns exactly what scoring every posting returns', () => {
    const pruning = vi.spyOn(
      Bm25Index.prototype as unknown as { scorePruned: () => unknown },
      'scorePruned',
    );
    let compared = 0;
    let ties = 0;
    // Pruned searches that found fewer than k: the heap never filled, θ never set.
    let short = 0;
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const corpus = randomCorpus(random, 3000);
      // k1 = 0: every contribution is its term's whole weight, so bounds are tight and chunks tie
      // with θ itself, the case where pruning a chunk whose bound only equals θ would be wrong
      // (it may enter by a lower label), and where a bound summed in another order than the
      // score can round below it.
      const index = prunedIndex(corpus, seed === 3 ? { k1: 0 } : {});
      // Removals (left in the lists as dead slots: too few to compact) and replacements.
      const removed = corpus.filter(() => random() < 0.2).map((item) => item.label);
      index.remove(removed);
      const replaced = corpus.filter(() => random() < 0.05);
      index.add(replaced.map(({ label }) => ({ label, text: randomQuery(random) })));
      const live = index.labels();

      for (let q = 0; q < 60; q++) {
        const query = randomQuery(random);
        // Some filters allow removed labels too: they must still not be answered.
        const only =
          q % 3 === 0
            ? new Set(corpus.filter(() => random() < 0.3).map((item) => item.label))
            : undefined;
        for (const k of [1, 5, 50, 700, live.length - 1]) {
          const calls = pruning.mock.calls.length;
          const both = searchBoth(index, query, k, only);
          if (pruning.mock.calls.length > calls && both.pruned.length < k) short++;
          expectSame(both, `seed ${seed}, "${query}", k ${k}${only ? ', filtered' : ''}`);
          const { exhaustive } = both;
          for (let i = 1; i < exhaustive.length; i++) {
            if (exhaustive[i]!.score === exhaustive[i - 1]!.score) ties++;
          }
          compared++;
        }
      }
    }
    expect(compared).toBe(3 * 60 * 5);
    // The pruned path ran for most comparisons (not where k reaches the postings or the filter's
    // labels: nothing to prune there), some of them with fewer matches than k, on exact ties.
    expect(pruning.mock.calls.length).toBeGreaterThan(compared / 2);
    expect(short).toBeGreaterThan(20);
    expect(ties).toBeGreaterThan(1000);
  });

  it('stays exact across compaction and for k beyond the matches', () => {
    const random = seededRandom(42);
    const corpus = randomCorpus(random, 4000);
    const index = prunedIndex(corpus);
    // The majority removed: the index compacts, renumbering slots.
    index.remove(corpus.filter(() => random() < 0.7).map((item) => item.label));
    for (let q = 0; q < 40; q++) {
      const query = randomQuery(random);
      for (const k of [1, 5, 50, 500]) {
        expectSame(searchBoth(index, query, k), `"${query}", k ${k}`);
      }
    }
    // Rare words only: fewer matches than k, every one of them returned.
    const rare = searchBoth(index, 'zebrafish retina', 500);
    expect(rare.exhaustive.length).toBeGreaterThan(0);
    expect(rare.exhaustive.length).toBeLessThan(500);
    expectSame(rare, 'rare words');
  });

  it('uses the plain loop for short lists unless told otherwise', () => {
    const index = new Bm25Index();
    index.add(randomCorpus(seededRandom(5), 500));
    const pruning = vi.spyOn(
      Bm25Index.prototype as unknown as { scorePruned: () => unknown },
      'scorePruned',
    );
    index.search('cell protein', 10);
    expect(pruning).not.toHaveBeenCalled();
    index.pruning.minPostings = 0;
    index.search('cell protein', 10);
    expect(pruning).toHaveBeenCalledTimes(1);
  });
});
