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
const FORMAT_VERSION = 1;
// Compacting costs a pass over the live documents, so wait until removed ones are the majority.
const MIN_REMOVED_BEFORE_COMPACTION = 1024;
// The most bytes one (term-id delta, frequency) pair takes in the forward index: a 31-bit id delta
// in 5 varint bytes, a 16-bit frequency in 3.
const MAX_PAIR_BYTES = 8;
// The forward index's offsets are 32-bit.
const MAX_TERM_BYTES = 0xffff_ffff;

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
    const queryTerms = new Map<number, number>();
    for (const term of tokenize(query)) {
      const id = this.termIds.get(term);
      if (id !== undefined && this.documentFrequencies[id]! > 0) {
        queryTerms.set(id, (queryTerms.get(id) ?? 0) + 1);
      }
    }
    if (queryTerms.size === 0) return [];

    if (this.scores.length < this.slotCount) {
      this.scores = new Float64Array(this.slotLabels.length);
      this.touched = new Int32Array(this.slotLabels.length);
    }
    const { scores, touched, slotLive, slotLengths, k1 } = this;
    // BM25's length normaliser k1·(1 − b + b·len/avg), split into a constant and a per-length part.
    const base = k1 * (1 - this.b);
    const perLength = (k1 * this.b) / (this.totalLength / documentCount);
    let touchedCount = 0;
    for (const [id, occurrences] of queryTerms) {
      const df = this.documentFrequencies[id]!;
      // Lucene's idf: never negative, so a very common term cannot push a document down.
      const idf = Math.log(1 + (documentCount - df + 0.5) / (df + 0.5));
      const weight = occurrences * idf * (k1 + 1);
      const list = this.postings[id]!;
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
    const best = topK(touched, candidates, scores, this.slotLabels, Math.floor(k));
    const hits = best.map((slot) => ({ label: this.slotLabels[slot]!, score: scores[slot]! }));
    for (let i = 0; i < touchedCount; i++) scores[touched[i]!] = 0;
    return hits;
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

    const out = new VarintWriter();
    out.writeBytes(MAGIC);
    out.writeUint(FORMAT_VERSION);
    writeString(out, TOKENIZER_VERSION);
    out.writeUint(liveTerms.length);
    for (const term of liveTerms) writeString(out, term);
    out.writeUint(this.slotOfLabel.size);
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.slotLive[slot] === 0) continue;
      const distinct = this.readSlotTerms(slot);
      const { scratchIds: ids, scratchFrequencies: frequencies } = this;
      out.writeUint(this.slotLabels[slot]!);
      out.writeUint(this.slotLengths[slot]!);
      out.writeUint(distinct);
      let previous = 0;
      for (let i = 0; i < distinct; i++) {
        const id = newIds[ids[i]!]!;
        out.writeUint(id - previous);
        out.writeUint(frequencies[i]!);
        previous = id;
      }
    }
    return out.finish();
  }

  /** Loads what `toBinary` wrote; throws `Bm25FormatError` if the bytes are not such an image. */
  static fromBinary(bytes: Uint8Array, parameters: Partial<Bm25Parameters> = {}): Bm25Index {
    const index = new Bm25Index(parameters);
    try {
      index.load(new VarintReader(bytes), bytes.length);
    } catch (error) {
      if (error instanceof Bm25FormatError) throw error;
      throw new Bm25FormatError(`corrupt BM25 index: ${(error as Error).message}`);
    }
    return index;
  }

  /** `imageLength` bounds the forward index: it holds the image's pairs in their own encoding. */
  private load(input: VarintReader, imageLength: number): void {
    const magic = input.readBytes(MAGIC.length);
    if (!magic.every((byte, i) => byte === MAGIC[i])) {
      throw new Bm25FormatError('not a BM25 index image');
    }
    const version = input.readUint();
    if (version !== FORMAT_VERSION) {
      throw new Bm25FormatError(`BM25 index format ${version}, expected ${FORMAT_VERSION}`);
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
    // Sized once for the whole image instead of grown by copies, and trimmed below. The image holds
    // the same pairs in the same encoding after a header longer than `insert`'s headroom, so the
    // arena never grows during a load.
    this.termBytes = new Uint8Array(Math.min(imageLength, MAX_TERM_BYTES));
    for (let d = 0; d < documentCount; d++) {
      const label = input.readUint();
      if (this.slotOfLabel.has(label)) throw new Bm25FormatError(`duplicate label ${label}`);
      const length = input.readUint();
      const distinct = input.readUint();
      if (distinct > termCount) throw new Bm25FormatError('more distinct terms than the image has');
      this.reserveScratch(distinct);
      const { scratchIds: ids, scratchFrequencies: frequencies } = this;
      let id = 0;
      for (let i = 0; i < distinct; i++) {
        const delta = input.readUint();
        // Strictly ascending: a repeated id would count the chunk twice in that term's frequency.
        if (delta === 0 && i > 0) throw new Bm25FormatError('term ids not ascending');
        id += delta;
        if (id >= termCount) throw new Bm25FormatError('term id out of range');
        ids[i] = id;
        frequencies[i] = input.readUint();
      }
      this.insert(label, length, distinct, false);
    }
    if (!input.done) throw new Bm25FormatError('trailing bytes after BM25 index image');
    // Postings in a second pass over the forward index, into lists of their final size: grown
    // push by push, they cost a load several times their size in copies and garbage.
    for (let id = 0; id < termCount; id++) {
      this.postings[id] = new PostingList(this.documentFrequencies[id]);
    }
    for (let slot = 0; slot < this.slotCount; slot++) {
      const distinct = this.readSlotTerms(slot);
      const { scratchIds: ids, scratchFrequencies: frequencies } = this;
      for (let i = 0; i < distinct; i++) this.postings[ids[i]!]!.push(slot, frequencies[i]!);
    }
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
