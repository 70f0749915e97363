import { LabelSetDigest } from '../vector/label-set-checksum';
import { MAX_TERM_FREQUENCY, PostingList } from './posting-list';
import { TOKENIZER_VERSION, tokenize } from './tokenizer';
import { topK } from './top-k';
import { VarintReader, VarintWriter } from './varint-buffer';

export interface Bm25Parameters {
  /** Term-frequency saturation: how quickly repeated occurrences stop adding score. */
  k1: number;
  /** Length normalisation: 0 ignores document length, 1 divides fully by it relative to average. */
  b: number;
}

/**
 * k1 = 1.2, b = 0.75 (Lucene's defaults, which the BEIR paper's BM25 used) over Anserini's
 * 0.9/0.4, measured with this analyser on BEIR SciFact (the lexical row of bench:quality): nDCG@10 0.692
 * vs 0.691, recall@100 0.922 vs 0.918; per query 30 better, 15 worse. The nDCG gap is well inside
 * its noise (paired standard error 0.005) and a k1 ∈ [0.6, 2], b ∈ [0.3, 0.9] grid stays within
 * 0.686–0.701, so the choice is not fragile; the recall edge matters most, because hybrid search
 * fuses the lexical candidate list and cannot rank what it did not receive.
 */
export const DEFAULT_BM25_PARAMETERS: Readonly<Bm25Parameters> = { k1: 1.2, b: 0.75 };

export interface Bm25Item {
  /** Non-negative integer id of the chunk (its Postgres id). */
  label: number;
  text: string;
}

export interface Bm25Hit {
  label: number;
  score: number;
}

/** Thrown by `fromBinary` for bytes it cannot load: not an index, another format or analyser. */
export class Bm25FormatError extends Error {
  override readonly name = 'Bm25FormatError';
}

/*
 * Why our own BM25 rather than a search library (MiniSearch, Lunr, wink-bm25-text-search): the
 * index must add and remove single chunks by their Postgres id as documents come and go, keep its
 * postings in typed arrays (a few bytes a posting instead of objects), agree with the vector index
 * on which chunks it holds (the label-set digest) and save to a compact image. Those libraries
 * rebuild on removal, keep their own document ids or store postings as objects.
 */
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const MAGIC = utf8Encoder.encode('PBM25');
/**
 * 2: each chunk's pairs as the forward index holds them, then every term's postings. A load copies
 * both as they are instead of transposing the chunks' pairs into postings: at a million chunks
 * ~80 million scattered writes, 7 s of a start (format 1, which still loads, holds the pairs
 * only: half the bytes).
 */
const FORMAT_VERSION = 2;
// Compacting costs a pass over the live documents, so wait until removed ones are the majority.
const MIN_REMOVED_BEFORE_COMPACTION = 1024;
// The most bytes one (term-id delta, frequency) pair takes in the forward index: a 31-bit id delta
// in 5 varint bytes, a 16-bit frequency in 3.
const MAX_PAIR_BYTES = 8;
// The forward index's offsets are 32-bit.
const MAX_TERM_BYTES = 0xffff_ffff;

/**
 * From how many postings (summed over the query's terms' lists) `search` prunes with MaxScore
 * (`scorePruned`) instead of scoring every posting term at a time (`scoreAll`). Pruning costs
 * more per posting it reads (a window buffer, then each candidate looked up in the other lists),
 * so it pays only once the lists are long next to k. Measured on the SciFact test queries over
 * chunks made of SciFact sentences (the corpus of bench/bm25-memory.ts), per query both ways:
 * at 10 000 chunks the two are even from ~4 000 postings (k = 50) or ~8 000 (k = 100), within a
 * few percent of each other up to the longest queries (~30 000); at 30 000 chunks pruning is
 * 25–35% faster from 8 000 postings; at 100 000 and 1 000 000, the median query takes half the
 * time. Queries below the cutover take under 0.3 ms either way, so small collections keep the
 * plain loop and lose nothing.
 */
export const PRUNED_SEARCH_MIN_POSTINGS = 8192;
/**
 * A chunk is skipped once its score bound is below θ by more than this relative margin. Bounds
 * are sums of weights in another order than scores are summed, and a contribution can round a
 * hair above its weight (k1 = 0 makes it w·tf/tf), so a score may exceed its bound by a few ulps,
 * far less than this; and a chunk that ties with θ exactly (it may still enter, by a lower label)
 * is never skipped.
 */
const PRUNING_MARGIN = 1e-9;
/**
 * The slots `scorePruned` scores at a time: its essential lists are read term at a time across a
 * window, and the split into essential and non-essential lists is revised between windows.
 */
const PRUNING_WINDOW = 4096;
/** Past any slot: the end of a list. */
const NO_SLOT = 0x7fff_ffff;

/** A query term's posting list and its BM25 weight, occurrences·idf·(k1 + 1). */
interface QueryTerm {
  list: PostingList;
  weight: number;
}

/**
 * The first index in [from, end) whose slot is at least `target` (`end` if none), in a list of
 * ascending slots: galloping from `from` then a binary search, so a cursor that moves a short way
 * costs a few reads and one that jumps far costs O(log distance).
 */
function seek(slots: Int32Array, from: number, end: number, target: number): number {
  if (from >= end || slots[from]! >= target) return from;
  // slots[low] < target; high is `end` or slots[high] >= target.
  let low = from;
  let step = 1;
  let high = from + 1;
  while (high < end && slots[high]! < target) {
    low = high;
    step *= 2;
    high = low + step;
  }
  if (high > end) high = end;
  while (low + 1 < high) {
    const middle = (low + high) >>> 1;
    if (slots[middle]! < target) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * An in-memory BM25 inverted index over the chunks of one collection. Chunks are identified by
 * integer labels; text is analysed by `tokenize`. Each added chunk occupies a slot; removing it
 * clears the slot and corrects the statistics (document count, total length, document
 * frequencies) at once, so scores always equal those of an index built from the live chunks
 * alone. Removed slots linger in posting lists, skipped at search time, until they outnumber the
 * live ones and everything is compacted.
 */
export class Bm25Index {
  readonly k1: number;
  readonly b: number;

  private readonly termIds = new Map<string, number>();
  private terms: string[] = [];
  private documentFrequencies: number[] = [];
  private postings: PostingList[] = [];

  private slotCount = 0;
  private slotLabels = new Float64Array(16);
  private slotLengths = new Int32Array(16);
  private slotLive = new Uint8Array(16);
  /**
   * The forward index, what removal must undo and what images and compaction are written from:
   * each slot's distinct term ids (ascending) and their frequencies, as varint pairs (id delta,
   * frequency) in one byte arena, slot s in [slotTermOffsets[s], slotTermOffsets[s + 1]). One
   * arena rather than a pair of typed arrays per chunk: each typed array costs ~100 bytes of
   * object and buffer headers besides its contents, far more than the 2–3 bytes a pair takes
   * here (a ~1 KB chunk: ~80 pairs in ~190 bytes, against ~1.3 KB as two typed arrays). Slots
   * are appended in order, so each slot's bytes end where the next one's begin and the arena's
   * used length is slotTermOffsets[slotCount]. A removed slot's bytes stay, unused, until
   * compaction rewrites the arena. Offsets are 32-bit: 4 GiB, some 20 million such chunks.
   */
  private termBytes: Uint8Array = new Uint8Array(4096);
  private slotTermOffsets = new Uint32Array(17);
  private readonly slotOfLabel = new Map<number, number>();
  private removedSlots = 0;
  private totalLength = 0;
  private liveChecksum = new LabelSetDigest();

  // Reused by every search: allocating a score array per query would dominate on small queries.
  private scores = new Float64Array(0);
  private touched = new Int32Array(0);
  /**
   * Internal, for tests: from how many postings `search` prunes (PRUNED_SEARCH_MIN_POSTINGS; 0 or
   * Infinity forces either path), and how many slots a pruning window spans (PRUNING_WINDOW, a
   * multiple of 32: a small one gives a small corpus many windows, as a large one has).
   */
  readonly pruning = { minPostings: PRUNED_SEARCH_MIN_POSTINGS, window: PRUNING_WINDOW };
  // A window of `scorePruned`: its essential lists' sums, and which of them are set. Cleared as read.
  private windowScores = new Float64Array(0);
  private windowBits = new Int32Array(0);
  // One slot's term ids and frequencies, decoded or about to be encoded: reused, like the above.
  // Frequencies in doubles: an image may hold any count, and it is clamped only in `insert`.
  private scratchIds = new Int32Array(64);
  private scratchFrequencies = new Float64Array(64);

  constructor(parameters: Partial<Bm25Parameters> = {}) {
    this.k1 = parameters.k1 ?? DEFAULT_BM25_PARAMETERS.k1;
    this.b = parameters.b ?? DEFAULT_BM25_PARAMETERS.b;
    if (!(this.k1 >= 0) || !(this.b >= 0 && this.b <= 1)) {
      throw new RangeError(`invalid BM25 parameters k1=${this.k1} b=${this.b}`);
    }
  }

  /** Number of live chunks. */
  get count(): number {
    return this.slotOfLabel.size;
  }

  /** Mean analysed length (terms after stopword removal) of the live chunks; 0 when empty. */
  get averageLength(): number {
    return this.count === 0 ? 0 : this.totalLength / this.count;
  }

  has(label: number): boolean {
    return this.slotOfLabel.has(label);
  }

  /** Live labels, ascending. */
  labels(): number[] {
    return [...this.slotOfLabel.keys()].sort((x, y) => x - y);
  }

  /** Order-independent fingerprint of the live labels; compare with `labelSetChecksum(ids)`. */
  checksum(): string {
    return this.liveChecksum.toString();
  }

  /** How many live chunks contain `word` once analysed (0 for a stopword). */
  documentFrequency(word: string): number {
    const [term] = tokenize(word);
    const id = term === undefined ? undefined : this.termIds.get(term);
    return id === undefined ? 0 : this.documentFrequencies[id]!;
  }

  /** Indexes the chunks; a label already present is replaced (its old text stops matching). */
  add(items: readonly Bm25Item[]): void {
    for (const { label, text } of items) {
      assertLabel(label);
      if (this.slotOfLabel.has(label)) this.removeLabel(label);
      const terms = tokenize(text);
      const counts = new Map<number, number>();
      for (const term of terms) {
        const id = this.intern(term);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      this.reserveScratch(counts.size);
      const { scratchIds: ids, scratchFrequencies: frequencies } = this;
      let distinct = 0;
      for (const id of counts.keys()) ids[distinct++] = id;
      ids.subarray(0, distinct).sort();
      for (let i = 0; i < distinct; i++) frequencies[i] = counts.get(ids[i]!)!;
      this.insert(label, terms.length, distinct);
    }
    // Replacing a label leaves its old slot behind, so repeated upserts need compaction too.
    this.compactIfMostlyRemoved();
  }

  /** Removes the chunks with these labels; labels not present are ignored. */
  remove(labels: readonly number[]): void {
    for (const label of labels) {
      if (this.slotOfLabel.has(label)) this.removeLabel(label);
    }
    this.compactIfMostlyRemoved();
  }

  /**
   * The `k` chunks with the highest BM25 score for `query`, best first (ties: lower label first).
   * Only chunks containing at least one query term are returned. A repeated query term counts
   * once per occurrence, as in Lucene.
   *
   * `only`: the labels that may be answered (a filter), applied before the cut to `k`. Scores
   * keep the whole collection's statistics, so a chunk scores the same with or without a filter.
   */
  search(query: string, k: number, only?: ReadonlySet<number>): Bm25Hit[] {
    const documentCount = this.slotOfLabel.size;
    if (!(k >= 1) || documentCount === 0 || this.totalLength === 0) return [];
    const occurrences = new Map<number, number>();
    for (const term of tokenize(query)) {
      const id = this.termIds.get(term);
      if (id !== undefined && this.documentFrequencies[id]! > 0) {
        occurrences.set(id, (occurrences.get(id) ?? 0) + 1);
      }
    }
    if (occurrences.size === 0) return [];

    const { k1 } = this;
    const terms: QueryTerm[] = [];
    let postingCount = 0;
    for (const [id, count] of occurrences) {
      const df = this.documentFrequencies[id]!;
      // Lucene's idf: never negative, so a very common term cannot push a document down.
      const idf = Math.log(1 + (documentCount - df + 0.5) / (df + 0.5));
      const list = this.postings[id]!;
      terms.push({ list, weight: count * idf * (k1 + 1) });
      postingCount += list.length;
    }
    // By ascending weight, which bounds the term's contribution to any chunk (tf / (tf + norm) ≤ 1).
    // Both paths add a chunk's contributions in the reverse of this order, so they compute the
    // same scores to the bit and break exact ties alike.
    terms.sort((x, y) => x.weight - y.weight);
    // BM25's length normaliser k1·(1 − b + b·len/avg), split into a constant and a per-length part.
    const base = k1 * (1 - this.b);
    const perLength = (k1 * this.b) / (this.totalLength / documentCount);
    const limit = Math.floor(k);
    // Pruning skips nothing until it holds k chunks: with k at least the chunks that could match
    // (fewer than the postings, the collection, or the filter's labels) it would only add work.
    const fewMatches =
      limit >= postingCount || limit >= documentCount || (only !== undefined && limit >= only.size);
    return postingCount < this.pruning.minPostings || fewMatches
      ? this.scoreAll(terms, base, perLength, limit, only)
      : this.scorePruned(terms, base, perLength, limit, only);
  }

  /**
   * Term at a time: every posting of every query term is scored into `scores`, then the best k.
   * Fastest while the lists are short (see PRUNED_SEARCH_MIN_POSTINGS).
   */
  private scoreAll(
    terms: readonly QueryTerm[],
    base: number,
    perLength: number,
    k: number,
    only: ReadonlySet<number> | undefined,
  ): Bm25Hit[] {
    if (this.scores.length < this.slotCount) {
      this.scores = new Float64Array(this.slotLabels.length);
      this.touched = new Int32Array(this.slotLabels.length);
    }
    const { scores, touched, slotLive, slotLengths } = this;
    let touchedCount = 0;
    for (let t = terms.length - 1; t >= 0; t--) {
      const { list, weight } = terms[t]!;
      const { slots, frequencies } = list;
      for (let i = 0; i < list.length; i++) {
        const slot = slots[i]!;
        if (slotLive[slot] === 0) continue;
        const tf = frequencies[i]!;
        // Every contribution is positive, so a zero score means "not yet touched".
        if (scores[slot] === 0) touched[touchedCount++] = slot;
        scores[slot]! += (weight * tf) / (tf + base + perLength * slotLengths[slot]!);
      }
    }

    let candidates = touchedCount;
    if (only) {
      // Compacted in place: the slots left out are still cleared below (their scores stay set).
      candidates = 0;
      for (let i = 0; i < touchedCount; i++) {
        const slot = touched[i]!;
        if (only.has(this.slotLabels[slot]!)) {
          touched[i] = touched[candidates]!;
          touched[candidates++] = slot;
        }
      }
    }
    const best = topK(touched, candidates, scores, this.slotLabels, k);
    const hits = best.map((slot) => ({ label: this.slotLabels[slot]!, score: scores[slot]! }));
    for (let i = 0; i < touchedCount; i++) scores[touched[i]!] = 0;
    return hits;
  }

  /**
   * MaxScore (Turtle & Flood, 1995), exact: the same hits as `scoreAll`. Terms sorted by ascending
   * bound (their weight); once k chunks are held, θ is the k-th best score, and the leading terms
   * whose bounds sum below θ are non-essential: a chunk only they contain cannot make the top k,
   * so candidates come from the other, essential lists alone (the rarer terms: common terms weigh
   * least). The lists are walked in slot order a window at a time, as Lucene's MaxScore scorer
   * does: the essential lists are scored term at a time into the window's buffer (a tight loop,
   * like `scoreAll`'s), then each candidate, in slot order, is looked up in the non-essential lists
   * (galloping: cursors only move forward), heaviest first, only while its score plus the bounds
   * of the lists still unread can reach θ. Most postings of the long lists of common terms are
   * thus skipped over rather than read.
   */
  private scorePruned(
    terms: readonly QueryTerm[],
    base: number,
    perLength: number,
    k: number,
    only: ReadonlySet<number> | undefined,
  ): Bm25Hit[] {
    const window = this.pruning.window;
    if (this.windowScores.length !== window) {
      this.windowScores = new Float64Array(window);
      this.windowBits = new Int32Array(window >>> 5);
    }
    const { slotLive, slotLengths, slotLabels, windowScores, windowBits } = this;
    const n = terms.length;
    const slotsOf = terms.map((term) => term.list.slots);
    const frequenciesOf = terms.map((term) => term.list.frequencies);
    const ends = Int32Array.from(terms, (term) => term.list.length);
    const weights = Float64Array.from(terms, (term) => term.weight);
    const cursors = new Int32Array(n);
    // bounds[t]: the most terms 0..t-1 together add to a chunk's score.
    const bounds = new Float64Array(n + 1);
    for (let t = 0; t < n; t++) bounds[t + 1] = bounds[t]! + weights[t]!;
    // The k best so far, a min-heap by score then label (the root is the k-th best, or the worst).
    const heapScores = new Float64Array(k);
    const heapLabels = new Float64Array(k);
    let held = 0;
    // A chunk whose score cannot reach `floor` cannot enter the heap: θ less PRUNING_MARGIN.
    let floor = Number.NEGATIVE_INFINITY;
    // Terms [0, essential) are non-essential.
    let essential = 0;

    while (essential < n) {
      let start = NO_SLOT;
      for (let t = essential; t < n; t++) {
        const at = cursors[t]!;
        if (at < ends[t]! && slotsOf[t]![at]! < start) start = slotsOf[t]![at]!;
      }
      if (start === NO_SLOT) break;
      const end = start + window;
      // The split at the window's start holds for all of it; θ rising meanwhile only tightens it.
      const split = essential;
      for (let t = n - 1; t >= split; t--) {
        const slots = slotsOf[t]!;
        const frequencies = frequenciesOf[t]!;
        const weight = weights[t]!;
        const last = ends[t]!;
        let at = cursors[t]!;
        for (; at < last; at++) {
          const slot = slots[at]!;
          if (slot >= end) break;
          if (slotLive[slot] === 0) continue;
          const tf = frequencies[at]!;
          const offset = slot - start;
          if (windowScores[offset] === 0) windowBits[offset >>> 5]! |= 1 << (offset & 31);
          windowScores[offset]! += (weight * tf) / (tf + base + perLength * slotLengths[slot]!);
        }
        cursors[t] = at;
      }

      for (let word = 0; word < window >>> 5; word++) {
        let bits = windowBits[word]!;
        if (bits === 0) continue;
        windowBits[word] = 0;
        while (bits !== 0) {
          const lowest = bits & -bits;
          bits ^= lowest;
          const offset = (word << 5) | (31 - Math.clz32(lowest));
          let score = windowScores[offset]!;
          windowScores[offset] = 0;
          // Hopeless even with every non-essential term: skipped before the filter's look-up.
          if (score + bounds[split]! < floor) continue;
          const slot = start + offset;
          const label = slotLabels[slot]!;
          if (only !== undefined && !only.has(label)) continue;
          let t = split - 1;
          for (; t >= 0 && score + bounds[t + 1]! >= floor; t--) {
            const slots = slotsOf[t]!;
            const at = seek(slots, cursors[t]!, ends[t]!, slot);
            cursors[t] = at;
            if (at < ends[t]! && slots[at] === slot) {
              const tf = frequenciesOf[t]![at]!;
              // As `scoreAll` computes it, term by term in the same order: the same bits.
              score += (weights[t]! * tf) / (tf + base + perLength * slotLengths[slot]!);
            }
          }
          if (t >= 0) continue; // pruned: cannot reach θ

          if (held < k) {
            let i = held++;
            while (i > 0) {
              const parent = (i - 1) >> 1;
              const above = heapScores[parent]!;
              if (!(score < above || (score === above && label > heapLabels[parent]!))) break;
              heapScores[i] = above;
              heapLabels[i] = heapLabels[parent]!;
              i = parent;
            }
            heapScores[i] = score;
            heapLabels[i] = label;
            if (held < k) continue;
          } else {
            const least = heapScores[0]!;
            if (score < least || (score === least && label > heapLabels[0]!)) continue;
            let i = 0;
            for (;;) {
              const left = 2 * i + 1;
              if (left >= k) break;
              // The worse child: lower score, or the same and a higher label.
              const right = left + 1;
              let child = left;
              if (right < k) {
                const leftScore = heapScores[left]!;
                const rightScore = heapScores[right]!;
                if (
                  rightScore < leftScore ||
                  (rightScore === leftScore && heapLabels[right]! > heapLabels[left]!)
                ) {
                  child = right;
                }
              }
              const below = heapScores[child]!;
              if (!(below < score || (below === score && heapLabels[child]! > label))) break;
              heapScores[i] = below;
              heapLabels[i] = heapLabels[child]!;
              i = child;
            }
            heapScores[i] = score;
            heapLabels[i] = label;
          }
          // θ rose (or was just set): more terms may be non-essential from the next window on.
          floor = heapScores[0]! * (1 - PRUNING_MARGIN);
          while (essential < n && bounds[essential + 1]! < floor) essential++;
        }
      }
    }

    const order = Array.from({ length: held }, (_, i) => i);
    order.sort((x, y) => heapScores[y]! - heapScores[x]! || heapLabels[x]! - heapLabels[y]!);
    return order.map((i) => ({ label: heapLabels[i]!, score: heapScores[i]! }));
  }

  /**
   * A compact binary image of the live chunks' analysed terms (not their text), tagged with the
   * analyser version. BM25 parameters are not stored: they are chosen when loading.
   */
  toBinary(): Uint8Array {
    // Renumber the terms still in use, preserving order so per-chunk ids stay ascending.
    const newIds = new Int32Array(this.terms.length).fill(-1);
    const liveTerms: string[] = [];
    this.terms.forEach((term, id) => {
      if (this.documentFrequencies[id]! > 0) {
        newIds[id] = liveTerms.length;
        liveTerms.push(term);
      }
    });
    const header = new VarintWriter();
    header.writeBytes(MAGIC);
    header.writeUint(FORMAT_VERSION);
    writeString(header, TOKENIZER_VERSION);
    header.writeUint(liveTerms.length);
    for (const term of liveTerms) writeString(header, term);
    header.writeUint(this.slotOfLabel.size);

    // The body in one buffer of a size it cannot exceed: per chunk a label of at most 8 bytes,
    // two varints of at most 5 and its pairs (renumbering only shortens id deltas); per term its count and, per
    // posting, a slot delta and a frequency (at most 5 + 3 bytes).
    const pairBytes = this.slotTermOffsets[this.slotCount]!;
    let postingCount = 0;
    for (const term of this.terms.keys()) postingCount += this.documentFrequencies[term]!;
    const body = new Uint8Array(
      this.slotOfLabel.size * 18 + pairBytes + liveTerms.length * 5 + postingCount * 8,
    );
    const newSlots = new Int32Array(this.slotCount).fill(-1);
    const renumbered = liveTerms.length !== this.terms.length;
    let at = 0;
    let liveSlot = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.slotLive[slot] === 0) continue;
      newSlots[slot] = liveSlot++;
      at = writeLabelVarint(body, at, this.slotLabels[slot]!);
      at = writeVarint(body, at, this.slotLengths[slot]!);
      const start = this.slotTermOffsets[slot]!;
      const end = this.slotTermOffsets[slot + 1]!;
      if (!renumbered) {
        at = writeVarint(body, at, end - start);
        body.set(this.termBytes.subarray(start, end), at);
        at += end - start;
        continue;
      }
      const distinct = this.decodeTerms(this.termBytes, start, end);
      const { scratchIds: ids, scratchFrequencies: frequencies } = this;
      let length = 0;
      let previous = 0;
      for (let i = 0; i < distinct; i++) {
        const id = newIds[ids[i]!]!;
        length += varintLength(id - previous) + varintLength(frequencies[i]!);
        previous = id;
      }
      at = writeVarint(body, at, length);
      previous = 0;
      for (let i = 0; i < distinct; i++) {
        const id = newIds[ids[i]!]!;
        at = writeVarint(body, at, id - previous);
        at = writeVarint(body, at, frequencies[i]!);
        previous = id;
      }
    }
    for (let term = 0; term < this.terms.length; term++) {
      const count = this.documentFrequencies[term]!;
      if (count === 0) continue;
      at = writeVarint(body, at, count);
      const { slots, frequencies, length } = this.postings[term]!;
      let previous = 0;
      for (let i = 0; i < length; i++) {
        const slot = newSlots[slots[i]!]!;
        if (slot < 0) continue; // a removed chunk's posting, left until compaction
        at = writeVarint(body, at, slot - previous);
        at = writeVarint(body, at, frequencies[i]!);
        previous = slot;
      }
    }
    header.writeBytes(body.subarray(0, at));
    return header.finish();
  }

  /** Loads what `toBinary` wrote; throws `Bm25FormatError` if the bytes are not such an image. */
  static fromBinary(bytes: Uint8Array, parameters: Partial<Bm25Parameters> = {}): Bm25Index {
    const index = new Bm25Index(parameters);
    try {
      index.load(new VarintReader(bytes), bytes);
    } catch (error) {
      if (error instanceof Bm25FormatError) throw error;
      throw new Bm25FormatError(`corrupt BM25 index: ${(error as Error).message}`);
    }
    return index;
  }

  /** `image`: the bytes `input` reads, whose pairs are copied as they are into the arena. */
  private load(input: VarintReader, image: Uint8Array): void {
    const magic = input.readBytes(MAGIC.length);
    if (!magic.every((byte, i) => byte === MAGIC[i])) {
      throw new Bm25FormatError('not a BM25 index image');
    }
    const version = input.readUint();
    if (version !== 1 && version !== FORMAT_VERSION) {
      throw new Bm25FormatError(`BM25 index format ${version}, expected 1 or ${FORMAT_VERSION}`);
    }
    const analyzer = readString(input);
    if (analyzer !== TOKENIZER_VERSION) {
      throw new Bm25FormatError(
        `index analysed by ${analyzer}, this build uses ${TOKENIZER_VERSION}`,
      );
    }
    const termCount = input.readUint();
    for (let id = 0; id < termCount; id++) {
      if (this.intern(readString(input)) !== id) {
        throw new Bm25FormatError('duplicate term in BM25 index image');
      }
    }
    const documentCount = input.readUint();
    if (version === FORMAT_VERSION) {
      this.loadChunksAndPostings(input, image, termCount, documentCount);
      return;
    }
    // Format 1: the chunks' pairs only. Sized once for the whole image instead of grown by copies, and trimmed below. The image holds
    // the same pairs in the same encoding after a header longer than `insert`'s headroom, so the
    // arena never grows during a load.
    this.termBytes = new Uint8Array(Math.min(image.length, MAX_TERM_BYTES));
    // Counted in a typed array (the hot loop's), copied into `documentFrequencies` at the end.
    const frequencies = new Int32Array(termCount);
    for (let d = 0; d < documentCount; d++) {
      const label = input.readUint();
      if (this.slotOfLabel.has(label)) throw new Bm25FormatError(`duplicate label ${label}`);
      const length = input.readUint();
      const distinct = input.readUint();
      if (distinct > termCount) throw new Bm25FormatError('more distinct terms than the image has');
      // The chunk's pairs are the forward index's own encoding (id delta, frequency): checked
      // and counted, then copied into the arena as they are — no decoding into arrays and
      // encoding again (at a million chunks, ~80 million pairs).
      const start = input.position;
      const scanned = scanImagePairs(image, start, distinct, termCount, frequencies);
      const at = Math.floor(scanned / 2);
      const clamped = scanned % 2 === 1;
      input.skipTo(at);
      if (clamped) {
        // Rare (a count no ~1 KB chunk reaches): through `insert`, which clamps and re-encodes.
        const n = this.decodeTerms(image, start, at);
        // (What it counts in `documentFrequencies` is overwritten by the local count below.)
        this.insert(label, length, n, false);
      } else {
        this.appendEncodedSlot(label, length, image, start, at);
      }
    }
    if (!input.done) throw new Bm25FormatError('trailing bytes after BM25 index image');
    // Postings in a second pass over the forward index, into lists of their final size (grown
    // push by push, they cost a load several times their size in copies and garbage).
    const postings = this.postings;
    const listSlots: Int32Array[] = [];
    const listFrequencies: Uint16Array[] = [];
    for (let termId = 0; termId < termCount; termId++) {
      const list = new PostingList(frequencies[termId]);
      list.length = frequencies[termId]!;
      postings[termId] = list;
      listSlots.push(list.slots);
      listFrequencies.push(list.frequencies);
      this.documentFrequencies[termId] = frequencies[termId]!;
    }
    fillPostings(this.termBytes, this.slotTermOffsets, this.slotCount, listSlots, listFrequencies);
    this.trim();
  }

  /**
   * Format 2's body: each chunk's pairs, copied into the arena as they are, then each term's
   * postings, decoded straight into a list of its size. The image's SHA-256 (its sidecar) vouches
   * for the pairs; the postings are checked as they are read (slots ascending and in range).
   */
  private loadChunksAndPostings(
    input: VarintReader,
    image: Uint8Array,
    termCount: number,
    documentCount: number,
  ): void {
    this.termBytes = new Uint8Array(Math.min(image.length, MAX_TERM_BYTES));
    for (let d = 0; d < documentCount; d++) {
      const label = input.readUint();
      if (this.slotOfLabel.has(label)) throw new Bm25FormatError(`duplicate label ${label}`);
      const length = input.readUint();
      const bytes = input.readUint();
      const start = input.position;
      input.skipTo(start + bytes);
      this.appendEncodedSlot(label, length, image, start, start + bytes);
    }
    for (let termId = 0; termId < termCount; termId++) {
      const count = input.readUint();
      if (count < 1 || count > documentCount) {
        throw new Bm25FormatError(`term ${termId} in ${count} of ${documentCount} chunks`);
      }
      const list = new PostingList(count);
      list.length = count;
      this.postings[termId] = list;
      this.documentFrequencies[termId] = count;
      input.skipTo(readPostings(image, input.position, list, documentCount));
    }
    if (!input.done) throw new Bm25FormatError('trailing bytes after BM25 index image');
    this.trim();
  }

  private intern(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.terms.length;
      this.termIds.set(term, id);
      this.terms.push(term);
      this.documentFrequencies.push(0);
      this.postings.push(new PostingList());
    }
    return id;
  }

  /**
   * Indexes a chunk in a new slot: its term ids (ascending) and frequencies are the first
   * `distinct` entries of the scratch arrays. Every chunk passes through here (added, loaded,
   * compacted), so this is where a frequency is clamped to what a posting holds. Without
   * `withPostings` (a load) the caller adds the postings from the forward index.
   */
  private insert(label: number, length: number, distinct: number, withPostings = true): void {
    // Refused before anything changes, so the index stays whole; `growTermBytes` then always fits.
    if (this.slotTermOffsets[this.slotCount]! + distinct * MAX_PAIR_BYTES > MAX_TERM_BYTES) {
      throw new RangeError('BM25 forward index full (4 GiB of term ids): split the collection');
    }
    if (this.slotCount === this.slotLabels.length) this.growSlots();
    const slot = this.slotCount++;
    this.slotLabels[slot] = label;
    this.slotLengths[slot] = length;
    this.slotLive[slot] = 1;
    this.slotOfLabel.set(label, slot);
    this.liveChecksum.add(label);
    this.totalLength += length;

    const { scratchIds: ids, scratchFrequencies: frequencies } = this;
    let termBytes = this.termBytes;
    let at = this.slotTermOffsets[slot]!;
    let previous = 0;
    for (let i = 0; i < distinct; i++) {
      // Checked per pair, not for the worst case of the whole chunk, so that an arena sized to
      // fit (load, compaction) is not grown for room it does not need.
      if (at + MAX_PAIR_BYTES > termBytes.length) termBytes = this.growTermBytes(at);
      const id = ids[i]!;
      const frequency = Math.min(frequencies[i]!, MAX_TERM_FREQUENCY);
      this.documentFrequencies[id]!++;
      if (withPostings) this.postings[id]!.push(slot, frequency);
      at = writeVarint(termBytes, at, id - previous);
      at = writeVarint(termBytes, at, frequency);
      previous = id;
    }
    this.slotTermOffsets[slot + 1] = at;
  }

  /**
   * A slot whose forward-index pairs are already encoded (an image's, checked, frequencies within
   * range and counted by the caller): copied into the arena as they are. No postings: the load
   * fills them afterwards.
   */
  private appendEncodedSlot(
    label: number,
    length: number,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): void {
    const at = this.slotTermOffsets[this.slotCount]!;
    if (at + (end - start) > MAX_TERM_BYTES) {
      throw new RangeError('BM25 forward index full (4 GiB of term ids): split the collection');
    }
    if (this.slotCount === this.slotLabels.length) this.growSlots();
    const slot = this.slotCount++;
    this.slotLabels[slot] = label;
    this.slotLengths[slot] = length;
    this.slotLive[slot] = 1;
    this.slotOfLabel.set(label, slot);
    this.liveChecksum.add(label);
    this.totalLength += length;
    while (at + (end - start) > this.termBytes.length) this.growTermBytes(at);
    this.termBytes.set(bytes.subarray(start, end), at);
    this.slotTermOffsets[slot + 1] = at + (end - start);
  }

  private removeLabel(label: number): void {
    const slot = this.slotOfLabel.get(label)!;
    const distinct = this.readSlotTerms(slot);
    const ids = this.scratchIds;
    for (let i = 0; i < distinct; i++) this.documentFrequencies[ids[i]!]!--;
    this.totalLength -= this.slotLengths[slot]!;
    this.slotLive[slot] = 0;
    this.slotOfLabel.delete(label);
    this.liveChecksum.remove(label);
    this.removedSlots++;
  }

  /** Decodes a slot's forward-index pairs into the scratch arrays; returns how many there are. */
  private readSlotTerms(slot: number): number {
    const offsets = this.slotTermOffsets;
    return this.decodeTerms(this.termBytes, offsets[slot]!, offsets[slot + 1]!);
  }

  /** Decodes the pairs in `bytes[start, end)` into the scratch arrays; returns how many. */
  private decodeTerms(bytes: Uint8Array, start: number, end: number): number {
    // Every pair takes at least two bytes.
    this.reserveScratch((end - start) >>> 1);
    const { scratchIds: ids, scratchFrequencies: frequencies } = this;
    let at = start;
    let distinct = 0;
    let id = 0;
    while (at < end) {
      // Two LEB128 varints, decoded inline: this runs for every term of every removed chunk.
      let byte = bytes[at++]!;
      let delta = byte & 0x7f;
      for (let shift = 7; byte >= 0x80; shift += 7) {
        byte = bytes[at++]!;
        delta |= (byte & 0x7f) << shift;
      }
      byte = bytes[at++]!;
      let frequency = byte & 0x7f;
      for (let shift = 7; byte >= 0x80; shift += 7) {
        byte = bytes[at++]!;
        frequency |= (byte & 0x7f) << shift;
      }
      id += delta;
      ids[distinct] = id;
      frequencies[distinct++] = frequency;
    }
    return distinct;
  }

  private reserveScratch(size: number): void {
    if (size <= this.scratchIds.length) return;
    const capacity = Math.max(size, this.scratchIds.length * 2);
    this.scratchIds = new Int32Array(capacity);
    this.scratchFrequencies = new Float64Array(capacity);
  }

  /** Grows the arena by half (as posting lists grow), keeping its first `used` bytes. */
  private growTermBytes(used: number): Uint8Array {
    const capacity = Math.min(
      MAX_TERM_BYTES,
      Math.max(4096, Math.ceil(this.termBytes.length * 1.5)),
    );
    const bytes = new Uint8Array(capacity);
    bytes.set(this.termBytes.subarray(0, used));
    this.termBytes = bytes;
    return bytes;
  }

  private growSlots(): void {
    const capacity = this.slotLabels.length * 2;
    const labels = new Float64Array(capacity);
    const lengths = new Int32Array(capacity);
    const live = new Uint8Array(capacity);
    const offsets = new Uint32Array(capacity + 1);
    labels.set(this.slotLabels);
    lengths.set(this.slotLengths);
    live.set(this.slotLive);
    offsets.set(this.slotTermOffsets);
    this.slotLabels = labels;
    this.slotLengths = lengths;
    this.slotLive = live;
    this.slotTermOffsets = offsets;
  }

  /**
   * Gives back the arena's and posting lists' spare capacity once a bulk rebuild (load,
   * compaction) is done. The slot arrays keep theirs: they are small, and the next add would
   * double them again.
   */
  private trim(): void {
    const used = this.slotTermOffsets[this.slotCount]!;
    if (used < this.termBytes.length) this.termBytes = this.termBytes.slice(0, used);
    for (const list of this.postings) list.trim();
  }

  private compactIfMostlyRemoved(): void {
    if (
      this.removedSlots > MIN_REMOVED_BEFORE_COMPACTION &&
      this.removedSlots > this.slotOfLabel.size
    ) {
      this.compact();
    }
  }

  /** Rebuilds every structure from the live slots, dropping removed slots and unused terms. */
  private compact(): void {
    const oldTerms = this.terms;
    const oldFrequencies = this.documentFrequencies;
    this.termIds.clear();
    this.terms = [];
    this.documentFrequencies = [];
    this.postings = [];
    // Renumbering in old id order keeps each chunk's id list ascending. The live document
    // frequencies are the lists' final lengths: sized now, they are never grown.
    const newIds = new Int32Array(oldTerms.length);
    oldTerms.forEach((term, id) => {
      if (oldFrequencies[id]! > 0) {
        newIds[id] = this.intern(term);
        this.postings[newIds[id]!] = new PostingList(oldFrequencies[id]);
      }
    });

    // The live slots are read from the old slot arrays and arena while they are re-inserted into
    // new ones (same capacity): rewriting in place would overwrite offsets not yet read.
    const old = {
      count: this.slotCount,
      labels: this.slotLabels,
      lengths: this.slotLengths,
      live: this.slotLive,
      offsets: this.slotTermOffsets,
      bytes: this.termBytes,
    };
    const capacity = old.labels.length;
    this.slotLabels = new Float64Array(capacity);
    this.slotLengths = new Int32Array(capacity);
    this.slotLive = new Uint8Array(capacity);
    this.slotTermOffsets = new Uint32Array(capacity + 1);
    // Renumbered ids are no larger, so their deltas take no more bytes: the live slots' bytes bound
    // the new arena (plus the headroom `insert` checks for), and `trim` gives back the rest.
    let liveBytes = MAX_PAIR_BYTES;
    for (let slot = 0; slot < old.count; slot++) {
      if (old.live[slot] === 1) liveBytes += old.offsets[slot + 1]! - old.offsets[slot]!;
    }
    this.termBytes = new Uint8Array(liveBytes);
    this.slotCount = 0;
    this.slotOfLabel.clear();
    this.liveChecksum = new LabelSetDigest();
    this.removedSlots = 0;
    this.totalLength = 0;
    for (let slot = 0; slot < old.count; slot++) {
      if (old.live[slot] === 0) continue;
      const distinct = this.decodeTerms(old.bytes, old.offsets[slot]!, old.offsets[slot + 1]!);
      // Renumbering in old id order kept the ids ascending.
      const ids = this.scratchIds;
      for (let i = 0; i < distinct; i++) ids[i] = newIds[ids[i]!]!;
      this.insert(old.labels[slot]!, old.lengths[slot]!, distinct);
    }
    this.trim();
  }
}

function assertLabel(label: number): void {
  if (!Number.isSafeInteger(label) || label < 0) {
    throw new RangeError(`label must be a non-negative safe integer, got ${label}`);
  }
}

function writeString(out: VarintWriter, value: string): void {
  const bytes = utf8Encoder.encode(value);
  out.writeUint(bytes.length);
  out.writeBytes(bytes);
}

function readString(input: VarintReader): string {
  return utf8Decoder.decode(input.readBytes(input.readUint()));
}

/**
 * Writes `value` (below 2^31) as a LEB128 varint at `at`, which has room; returns the end. Not
 * `VarintWriter`: the forward index writes into its own arena, in the insert loop, unchecked.
 */
function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  let position = at;
  let rest = value;
  while (rest >= 0x80) {
    bytes[position++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  bytes[position++] = rest;
  return position;
}

/*
 * The two loops an image load spends its time in, over ~80 million pairs at a million chunks:
 * small functions of typed arrays, which V8 optimises whole (inside `load` they ran ~2x slower).
 */

/**
 * Checks a chunk's `distinct` pairs (id delta, frequency) of an image from `start` and counts
 * each term in `counts`; returns twice the position after them, plus 1 if a frequency exceeds
 * `MAX_TERM_FREQUENCY` (to be clamped).
 */
function scanImagePairs(
  image: Uint8Array,
  start: number,
  distinct: number,
  termCount: number,
  counts: Int32Array,
): number {
  let at = start;
  let id = 0;
  let clamped = 0;
  for (let i = 0; i < distinct; i++) {
    // At most 4 bytes (28 bits) each: term ids and frequencies beyond that are corrupt.
    let byte = 0x80;
    let delta = 0;
    for (let shift = 0; byte >= 0x80; shift += 7) {
      if (at >= image.length || shift > 21) throw new Bm25FormatError('truncated pair');
      byte = image[at++]!;
      delta |= (byte & 0x7f) << shift;
    }
    let frequency = 0;
    byte = 0x80;
    for (let shift = 0; byte >= 0x80; shift += 7) {
      if (at >= image.length || shift > 21) throw new Bm25FormatError('truncated pair');
      byte = image[at++]!;
      frequency |= (byte & 0x7f) << shift;
    }
    // Strictly ascending: a repeated id would count the chunk twice in that term's frequency.
    if (delta === 0 && i > 0) throw new Bm25FormatError('term ids not ascending');
    id += delta;
    if (id >= termCount) throw new Bm25FormatError('term id out of range');
    if (frequency > MAX_TERM_FREQUENCY) clamped = 1;
    counts[id]!++;
  }
  return at * 2 + clamped;
}

/** Writes every slot's postings, in slot order, into lists sized for them. */
function fillPostings(
  arena: Uint8Array,
  offsets: Uint32Array,
  slotCount: number,
  listSlots: Int32Array[],
  listFrequencies: Uint16Array[],
): void {
  const filled = new Int32Array(listSlots.length);
  for (let slot = 0; slot < slotCount; slot++) {
    let at = offsets[slot]!;
    const end = offsets[slot + 1]!;
    let termId = 0;
    while (at < end) {
      let byte = arena[at++]!;
      let delta = byte & 0x7f;
      for (let shift = 7; byte >= 0x80; shift += 7) {
        byte = arena[at++]!;
        delta |= (byte & 0x7f) << shift;
      }
      byte = arena[at++]!;
      let frequency = byte & 0x7f;
      for (let shift = 7; byte >= 0x80; shift += 7) {
        byte = arena[at++]!;
        frequency |= (byte & 0x7f) << shift;
      }
      termId += delta;
      const position = filled[termId]!++;
      listSlots[termId]![position] = slot;
      listFrequencies[termId]![position] = frequency;
    }
  }
}

/** Bytes `writeVarint` takes for `value`. */
function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest >>>= 7) length++;
  return length;
}

/**
 * Decodes `list.length` postings (slot delta, frequency) of an image from `start` into the list;
 * returns the position after them. Slots must ascend and stay below `slotCount`.
 */
function readPostings(image: Uint8Array, start: number, list: PostingList, slotCount: number) {
  const { slots, frequencies, length } = list;
  let at = start;
  let slot = 0;
  for (let i = 0; i < length; i++) {
    let byte = 0x80;
    let delta = 0;
    for (let shift = 0; byte >= 0x80; shift += 7) {
      if (at >= image.length || shift > 21) throw new Bm25FormatError('truncated posting');
      byte = image[at++]!;
      delta |= (byte & 0x7f) << shift;
    }
    let frequency = 0;
    byte = 0x80;
    for (let shift = 0; byte >= 0x80; shift += 7) {
      if (at >= image.length || shift > 14) throw new Bm25FormatError('truncated posting');
      byte = image[at++]!;
      frequency |= (byte & 0x7f) << shift;
    }
    if (delta === 0 && i > 0) throw new Bm25FormatError('posting slots not ascending');
    slot += delta;
    if (slot >= slotCount) throw new Bm25FormatError('posting slot out of range');
    if (frequency > MAX_TERM_FREQUENCY) throw new Bm25FormatError('posting frequency out of range');
    slots[i] = slot;
    frequencies[i] = frequency;
  }
  return at;
}

/** A label (a safe integer, which may pass 2^32) as a varint: `writeVarint` shifts in 32 bits. */
function writeLabelVarint(bytes: Uint8Array, at: number, value: number): number {
  let position = at;
  let rest = value;
  while (rest >= 0x80) {
    bytes[position++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  bytes[position++] = rest;
  return position;
}
