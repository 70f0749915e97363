import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { HierarchicalNSW as Hnsw } from 'hnswlib-node';
import { DimensionMismatchError, VectorIndexFileError } from './errors';
import { LabelSetDigest } from './label-set-checksum';
import { commitIndexFile, removeFile, temporaryPath, verifyIndexFile } from './vector-index-file';

// hnswlib-node is CommonJS whose exports Node's ESM loader cannot see by name.
const { HierarchicalNSW } = createRequire(import.meta.url)(
  'hnswlib-node',
) as typeof import('hnswlib-node');

export interface VectorItem {
  /** A chunk id: an integer from 0 to 2^32 − 1 (hnswlib-node truncates labels to 32 bits). */
  label: number;
  vector: readonly number[];
}

export interface VectorHit {
  label: number;
  cosineSimilarity: number;
  euclideanDistance: number;
}

export interface VectorIndexOptions {
  /**
   * Graph degree. 16 is hnswlib's default and the usual sweet spot for 100–1000 dimensions:
   * fewer links lose recall on clustered data, more cost memory and insert time for little gain.
   */
  m?: number;
  /**
   * Candidate list while inserting. 100 rather than hnswlib's 200: inserts run twice as fast
   * (insert time is what a rebuild at start costs), and on 50k × 384-d clustered vectors recall@10
   * at ef 64 was 0.999 (bench:retrieval); on a harder, near-uniform set 200 bought only 0.90 over
   * 0.89 — raising the search ef helps such data far more than a denser graph does.
   */
  efConstruction?: number;
  /** Candidate list while searching; at least k is used. Default 64. */
  ef?: number;
  /** Slots allocated up front; the index grows by half when full. Default 1024. */
  initialCapacity?: number;
  /** hnswlib's level generator seed: fixed, so a rebuild from the same rows is the same graph. */
  randomSeed?: number;
}

export interface AddInBatchesOptions {
  /** At most this many points between yields. Default 512. */
  batchSize?: number;
  /** Yield once a batch has taken this long, whatever its size. Default 10 ms. */
  maxBlockMs?: number;
}

export const DEFAULT_M = 16;
export const DEFAULT_EF_CONSTRUCTION = 100;
export const DEFAULT_EF = 64;
const DEFAULT_CAPACITY = 1024;
const MAX_LABEL = 0xffff_ffff;
/**
 * Whether a filtered search should score its allowed points one by one rather than walk the graph.
 * Measured (bench/filtered-search.ts, 384-d): scoring costs ~40 µs a point (hnswlib-node's
 * `getPoint` builds a JS array), while the filtered walk costs ~1 µs a visited node and visits the
 * whole graph when fewer points are allowed than its beam holds, about N·2ef/allowed beyond that.
 * At 3,000 points the walk wins from ~64 allowed (1.4 vs 2.2 ms), at 20,000 from between 256 (17.6
 * vs 11.4 ms) and 1,024 (6.3 vs 58 ms): so exact up to min(N/64, 2√N).
 */
export function prefersExactSearch(allowed: number, live: number): boolean {
  return allowed <= Math.min(live / 64, 2 * Math.sqrt(live));
}

function toHit(label: number, cosine: number): VectorHit {
  const cosineSimilarity = Math.max(-1, Math.min(1, cosine));
  return {
    label,
    cosineSimilarity,
    euclideanDistance: Math.sqrt(Math.max(0, 2 - 2 * cosineSimilarity)),
  };
}

/**
 * The HNSW index of one collection: cosine space over L2-normalized vectors, so one graph
 * answers both metrics (cosine similarity c = 1 − distance, euclidean distance √(2 − 2c)).
 *
 * Deletion marks a slot (hnswlib cannot unlink a node); with `allowReplaceDeleted` those slots
 * are reused by later inserts, so a collection whose documents are replaced again and again does
 * not grow without end. Re-adding a label that was removed revives its slot with the new vector.
 *
 * Not safe to mutate while `save` runs (hnswlib writes from a worker thread): mutations throw
 * until it finishes. `VectorIndexStore` serializes them for you.
 */
export class CollectionVectorIndex {
  readonly dimensions: number;
  readonly m: number;
  readonly efConstruction: number;
  readonly #hnsw: Hnsw;
  readonly #live: Set<number>;
  /** Labels that may still own a slot marked deleted (a replacement may have taken it since). */
  readonly #deleted: Set<number>;
  readonly #digest = new LabelSetDigest();
  #saving = false;
  #batchAdds = 0;
  /** The change-log position recorded in the file this index was loaded from, if any. */
  readonly loadedPosition: bigint | null;

  private constructor(
    hnsw: Hnsw,
    dimensions: number,
    params: { m: number; efConstruction: number; ef: number },
    live: Iterable<number>,
    deleted: Iterable<number>,
    loadedPosition: bigint | null = null,
  ) {
    this.#hnsw = hnsw;
    this.loadedPosition = loadedPosition;
    this.dimensions = dimensions;
    this.m = params.m;
    this.efConstruction = params.efConstruction;
    this.#live = new Set(live);
    this.#deleted = new Set(deleted);
    for (const label of this.#live) this.#digest.add(label);
    hnsw.setEf(params.ef);
  }

  static create(dimensions: number, opts: VectorIndexOptions = {}): CollectionVectorIndex {
    assertPositiveInteger('dimensions', dimensions);
    const m = opts.m ?? DEFAULT_M;
    const efConstruction = opts.efConstruction ?? DEFAULT_EF_CONSTRUCTION;
    const ef = opts.ef ?? DEFAULT_EF;
    assertPositiveInteger('m', m);
    assertPositiveInteger('efConstruction', efConstruction);
    assertPositiveInteger('ef', ef);
    const hnsw = new HierarchicalNSW('cosine', dimensions);
    hnsw.initIndex({
      maxElements: Math.max(1, opts.initialCapacity ?? DEFAULT_CAPACITY),
      m,
      efConstruction,
      randomSeed: opts.randomSeed ?? 100,
      allowReplaceDeleted: true,
    });
    return new CollectionVectorIndex(hnsw, dimensions, { m, efConstruction, ef }, [], []);
  }

  /**
   * Loads an index written by `save`. Throws `VectorIndexFileError` when the file is missing,
   * truncated, corrupt or built for other dimensions — checked against its sidecar before
   * hnswlib touches it.
   */
  static async load(
    filePath: string,
    dimensions: number,
    opts: { ef?: number } = {},
  ): Promise<CollectionVectorIndex> {
    const sidecar = await verifyIndexFile(filePath, dimensions);
    // A fresh object: after a failed readIndex, hnswlib-node leaves a dangling pointer behind.
    const hnsw = new HierarchicalNSW('cosine', dimensions);
    try {
      await hnsw.readIndex(filePath, true);
    } catch (error) {
      throw new VectorIndexFileError('corrupt', filePath, (error as Error).message);
    }
    const deleted = new Set(sidecar.deletedLabels);
    const ids = hnsw.getIdsList();
    const live = ids.filter((label) => !deleted.has(label));
    const index = new CollectionVectorIndex(
      hnsw,
      dimensions,
      { m: sidecar.m, efConstruction: sidecar.efConstruction, ef: opts.ef ?? DEFAULT_EF },
      live,
      deleted,
      sidecar.position === undefined ? null : BigInt(sidecar.position),
    );
    if (
      hnsw.getCurrentCount() !== sidecar.slots ||
      ids.length !== sidecar.slots ||
      index.count !== sidecar.count ||
      index.checksum() !== sidecar.checksum
    ) {
      throw new VectorIndexFileError('corrupt', filePath, 'labels do not match its sidecar');
    }
    return index;
  }

  /** Live points. */
  get count(): number {
    return this.#live.size;
  }

  /** Slots allocated; grows by itself. */
  get capacity(): number {
    return this.#hnsw.getMaxElements();
  }

  /** Read back from hnswlib, which forgets it on readIndex (resets it to 10). */
  get ef(): number {
    return this.#hnsw.getEf();
  }

  set ef(value: number) {
    assertPositiveInteger('ef', value);
    this.#hnsw.setEf(value);
  }

  has(label: number): boolean {
    return this.#live.has(label);
  }

  /** Live labels, in no particular order. */
  labels(): number[] {
    return [...this.#live];
  }

  /** `labelSetChecksum` of the live labels, maintained as they change: O(1). */
  checksum(): string {
    return this.#digest.toString();
  }

  /**
   * Adds or replaces points, synchronously: the event loop is blocked for the whole call (about
   * 0.2–0.4 ms a point), so use `addInBatches` for more than a few hundred. All items are
   * validated before any is added.
   */
  add(items: readonly VectorItem[]): void {
    this.#assertNotSaving('add');
    for (const item of items) this.#validate(item);
    this.#reserve(items);
    for (const item of items) this.#addOne(item);
  }

  /**
   * Adds in slices, yielding to the event loop between them, so searches and requests keep being
   * served while thousands of points go in. All items are validated first; the index must not be
   * saved meanwhile.
   */
  async addInBatches(items: readonly VectorItem[], opts: AddInBatchesOptions = {}): Promise<void> {
    const batchSize = opts.batchSize ?? 512;
    const maxBlockMs = opts.maxBlockMs ?? 10;
    this.#assertNotSaving('add');
    this.#batchAdds++;
    try {
      let sliceStart = performance.now();
      for (let i = 0; i < items.length; i++) {
        this.#validate(items[i]!);
        if ((i + 1) % 2048 === 0 && performance.now() - sliceStart > maxBlockMs) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
      this.#reserve(items);
      for (let i = 0; i < items.length; ) {
        const end = Math.min(i + batchSize, items.length);
        sliceStart = performance.now();
        for (; i < end; i++) {
          this.#addOne(items[i]!);
          if (performance.now() - sliceStart > maxBlockMs) {
            i++;
            break;
          }
        }
        if (i < items.length) await yieldToLoop();
      }
    } finally {
      this.#batchAdds--;
    }
  }

  /** Marks labels deleted; unknown or already removed labels are ignored. Returns how many were live. */
  remove(labels: Iterable<number>): number {
    this.#assertNotSaving('remove');
    let removed = 0;
    for (const label of labels) {
      if (!this.#live.has(label)) continue;
      this.#hnsw.markDelete(label);
      this.#live.delete(label);
      this.#deleted.add(label);
      this.#digest.remove(label);
      removed++;
    }
    return removed;
  }

  /**
   * The `k` nearest live points, best first; fewer when the collection is smaller. A query must
   * have the index's dimensions; it is normalized by hnswlib, and a zero query scores 0 against all.
   *
   * `only`: the labels that may be answered (a filter), others skipped before the cut to `k`, so
   * the answer holds min(k, allowed live points) of them. A small allowed set is scored exactly
   * against every allowed point; a larger one is searched in the graph with hnswlib's label
   * filter, which keeps walking until its beam holds enough allowed points (the whole graph when
   * fewer exist, so none is missed).
   */
  search(vector: readonly number[], k: number, only?: ReadonlySet<number>): VectorHit[] {
    if (vector.length !== this.dimensions) {
      throw new DimensionMismatchError(this.dimensions, vector.length, 'Search vector');
    }
    for (const x of vector) {
      if (!Number.isFinite(x)) throw new RangeError(`Search vector holds ${x}`);
    }
    let candidates = this.#live.size;
    if (only) {
      // The allowed set may name other collections' chunks: count the ones this index holds.
      candidates = 0;
      for (const label of only) if (this.#live.has(label)) candidates++;
      if (prefersExactSearch(candidates, this.#live.size)) return this.#exactAmong(vector, k, only);
    }
    const limit = Math.min(Math.floor(k), candidates);
    if (!(limit >= 1)) return [];
    // hnswlib searches with a beam of max(ef, k). A wide candidate pool (hybrid retrieval asks
    // for 50) needs a wider beam for the same recall: on SciFact's hashing vectors, the share of
    // the exact top 100 found rose from 65% (beam 100) to 80% (beam 200), nDCG@10 0.369 → 0.395.
    const base = this.#hnsw.getEf();
    const beam = Math.max(base, 2 * limit);
    if (beam !== base) this.#hnsw.setEf(beam);
    let found: { distances: number[]; neighbors: number[] };
    try {
      found = only
        ? this.#hnsw.searchKnn(vector as number[], limit, (label) => only.has(label))
        : this.#hnsw.searchKnn(vector as number[], limit);
    } finally {
      if (beam !== base) this.#hnsw.setEf(base);
    }
    const { distances, neighbors } = found;
    return neighbors.map((label, i) => toHit(label, 1 - distances[i]!));
  }

  /** Every allowed live point scored against the query, the best `k` of them. */
  #exactAmong(vector: readonly number[], k: number, only: ReadonlySet<number>): VectorHit[] {
    const limit = Math.floor(k);
    if (!(limit >= 1)) return [];
    // hnswlib compares the normalized query with the stored (normalized) points: so does this.
    let norm = 0;
    for (const x of vector) norm += x * x;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const scored: { label: number; cosine: number }[] = [];
    for (const label of only) {
      if (!this.#live.has(label)) continue;
      const point = this.#hnsw.getPoint(label);
      let dot = 0;
      for (let i = 0; i < point.length; i++) dot += point[i]! * vector[i]!;
      scored.push({ label, cosine: dot * scale });
    }
    scored.sort((a, b) => b.cosine - a.cosine || a.label - b.label);
    return scored.slice(0, limit).map((s) => toHit(s.label, s.cosine));
  }

  /**
   * Writes the index atomically: to a temporary file in the same directory, flushed, hashed into
   * its sidecar, then renamed over the old pair. A crash leaves the old pair or one that fails
   * verification — never a half-written index that loads. `position` is recorded in the sidecar:
   * the change-log position this index covers, from which a start replays the log.
   */
  async save(filePath: string, opts: { position?: bigint } = {}): Promise<void> {
    if (this.#batchAdds > 0)
      throw new Error('Cannot save a vector index while points are being added');
    if (this.#saving) throw new Error('This vector index is already being saved');
    this.#saving = true;
    const temporary = temporaryPath(filePath);
    try {
      await mkdir(path.dirname(filePath), { recursive: true });
      // The exact set of slots marked deleted, as #deleted may hold labels since replaced.
      const deletedLabels = this.#hnsw.getIdsList().filter((label) => !this.#live.has(label));
      this.#deleted.clear();
      for (const label of deletedLabels) this.#deleted.add(label);
      await this.#hnsw.writeIndex(temporary);
      await commitIndexFile(temporary, filePath, {
        dimensions: this.dimensions,
        m: this.m,
        efConstruction: this.efConstruction,
        slots: this.#hnsw.getCurrentCount(),
        count: this.#live.size,
        checksum: this.checksum(),
        deletedLabels,
        ...(opts.position === undefined ? {} : { position: opts.position.toString() }),
      });
    } finally {
      this.#saving = false;
      await removeFile(temporary);
    }
  }

  #assertNotSaving(operation: string): void {
    if (this.#saving) {
      throw new Error(
        `Cannot ${operation} while the vector index is being saved; await save() first`,
      );
    }
  }

  #validate(item: VectorItem): void {
    const { label, vector } = item;
    if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
      throw new RangeError(`Vector label must be an integer from 0 to ${MAX_LABEL}, got ${label}`);
    }
    if (!Array.isArray(vector)) throw new TypeError('A vector must be a plain array of numbers');
    if (vector.length !== this.dimensions) {
      throw new DimensionMismatchError(this.dimensions, vector.length, `Vector for label ${label}`);
    }
    for (const x of vector) {
      if (!Number.isFinite(x)) throw new RangeError(`Vector for label ${label} holds ${x}`);
    }
  }

  /** Grows capacity once for a whole call rather than failing or resizing point by point. */
  #reserve(items: readonly VectorItem[]): void {
    const seen = new Set<number>();
    let fresh = 0;
    let revived = 0;
    for (const { label } of items) {
      if (seen.has(label) || this.#live.has(label)) continue;
      seen.add(label);
      if (this.#deleted.has(label)) revived++;
      else fresh++;
    }
    // A revived label takes back its own deleted slot, or — when a replacement took it since —
    // needs another one, like a fresh label: either way it draws on the deleted slots first.
    const slots = this.#hnsw.getCurrentCount();
    const deletedSlots = slots - this.#live.size;
    const needed = slots + Math.max(0, fresh + revived - deletedSlots);
    const capacity = this.#hnsw.getMaxElements();
    if (needed > capacity) this.#hnsw.resizeIndex(Math.max(needed, Math.ceil(capacity * 1.5)));
  }

  #addOne({ label, vector }: VectorItem): void {
    const point = vector as number[];
    if (this.#live.has(label)) {
      this.#hnsw.addPoint(point, label, false); // replaces the vector in place
      return;
    }
    if (this.#deleted.delete(label) && this.#revive(label)) {
      this.#hnsw.addPoint(point, label, false);
    } else {
      // Takes a slot marked deleted when there is one, else a new slot.
      this.#hnsw.addPoint(point, label, true);
    }
    this.#live.add(label);
    this.#digest.add(label);
    this.#pruneDeleted();
  }

  /** Unmarks a removed label's slot; false when a later insert has already taken that slot. */
  #revive(label: number): boolean {
    try {
      this.#hnsw.unmarkDelete(label);
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets labels whose slots were reused, so #deleted stays the size of the deleted slots. */
  #pruneDeleted(): void {
    const deletedSlots = this.#hnsw.getCurrentCount() - this.#live.size;
    if (this.#deleted.size <= 2 * deletedSlots + 1024) return;
    this.#deleted.clear();
    for (const label of this.#hnsw.getIdsList()) {
      if (!this.#live.has(label)) this.#deleted.add(label);
    }
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
