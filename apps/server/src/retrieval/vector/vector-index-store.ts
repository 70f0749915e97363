import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { KeyedMutex } from '../../lib/keyed-mutex';
import { DimensionMismatchError, VectorIndexFileError } from './errors';
import {
  CollectionVectorIndex,
  type VectorHit,
  type VectorIndexOptions,
  type VectorItem,
} from './vector-index';
import { isTemporaryPath, removeFile, sidecarPath } from './vector-index-file';

/**
 * Where indexes are rebuilt from: the chunks table, which is the truth. Implemented over Postgres.
 */
export interface ChunkVectorSource {
  /** Every collection that should have an index, including empty ones. */
  collectionIds(): Promise<string[]>;
  /** The dimensions the collection was created with. */
  dimensions(collectionId: string): Promise<number>;
  /**
   * The live chunk ids of a collection, summarised: `count` and
   * `labelSetChecksum(ids)` (from `./label-set-checksum`) — e.g. over
   * `select id from chunks where collection_id = $1`. Cheap next to a rebuild, and compared with
   * the persisted index's own checksum at start.
   */
  fingerprint(collectionId: string): Promise<{ count: number; checksum: string }>;
  /** All chunk vectors of a collection as `{label: chunk id, vector}`, in batches of about `batchSize`. */
  vectors(collectionId: string, batchSize: number): AsyncIterable<VectorItem[]>;
  /**
   * The change log the indexes follow, when there is one: files then record the log position they
   * cover, and a file whose position the log still holds is loaded without comparing it with the
   * table (the log since that position brings it up to date).
   */
  log?: {
    /** The current safe watermark: every change below it has committed or never will. */
    position(): Promise<bigint>;
    /** Every change below this may have been trimmed from the log. */
    trimmedBelow(): Promise<bigint>;
  };
}

export interface VectorIndexStoreOptions {
  /** e.g. `${dataDir}/indexes`; created when missing. Holds `<collectionId>.hnsw` + sidecar. */
  directory: string;
  source: ChunkVectorSource;
  index?: VectorIndexOptions;
  /** Rows asked of `source.vectors` at a time during a rebuild. Default 1000. */
  rebuildBatchSize?: number;
  /**
   * A changed index is written this long after its first unsaved change (then again after the
   * next one): bounded staleness without writing a large file on every document. `null` writes
   * only on `persist`, `persistAll`, `close` and after `persistAfterChanges`. Default 5000 ms.
   * Staleness is never data loss: an index behind Postgres is brought up to date at the next
   * start (from the change log, or by a rebuild).
   */
  persistDelayMs?: number | null;
  /**
   * A changed index is also written once this many points were added or removed since it was
   * last written, however soon. Default: never by count.
   */
  persistAfterChanges?: number;
  /**
   * …but, for a large index, not before this share of its points changed. A write rewrites the
   * whole file, so a fixed count alone makes the bytes written per ingested chunk grow with the
   * collection (at a million chunks, 1.7 GB for every 10,000 chunks) and stalls its writers for
   * the length of each write. Default 0 (the count alone).
   */
  persistAfterShare?: number;
  /**
   * Background writes have no caller to reject; they report here (the server passes its logger).
   * Reporting is all that is needed: the index stays marked unsaved, so its next change
   * schedules another write and `close` writes it.
   */
  onPersistError: (error: unknown, collectionId: string) => void;
  /**
   * Called after a collection's index was written, under its lock, with the log position the file
   * records: what else checkpoints that collection (its lexical index) is written along with it.
   */
  onSaved?: (collectionId: string, position: bigint | null) => Promise<void>;
}

/** What `close` did with each index that had unsaved changes. */
export interface CloseReport {
  saved: string[];
  /**
   * Not written: the write would not have fitted the budget `close` was given. Nothing is lost:
   * the file is the previous checkpoint and the change log holds what came since, replayed at the
   * next start.
   */
  leftToLog: string[];
}

export interface OpenReport {
  /** Collections whose persisted index matched Postgres. */
  loaded: string[];
  /**
   * Of `loaded`, those taken from a checkpoint: a file recording a log position the log still
   * holds, brought up to date by replaying the log from there (no comparison with the table).
   */
  replayed: string[];
  /** Collections rebuilt from Postgres (and saved). */
  rebuilt: string[];
  /** Why each rebuilt collection was rebuilt: missing, damaged or stale. */
  reasons: Record<string, string>;
  /** Leftovers deleted: indexes of collections that no longer exist, unfinished temporary files. */
  removedFiles: string[];
  /**
   * With a change log: the position to replay it from so that every index is up to date (the
   * oldest checkpoint's, or the watermark taken before anything was read). Null without one.
   */
  position: bigint | null;
}

const INDEX_SUFFIX = '.hnsw';
/** The fewest points a measured write must have held to estimate a larger one from it. */
const MIN_POINTS_TO_ESTIMATE = 10_000;
const COLLECTION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * The vector indexes of all collections, kept equal to Postgres: loaded from disk at start when
 * they match it, rebuilt when they are missing, damaged or stale, and written back in the
 * background as they change. Mutations of one collection run one at a time (hnswlib must not be
 * written while it is being saved); searches never wait.
 *
 * Call `add` after the chunks are committed and `remove` after their deletion is committed: a
 * crash in between leaves an index that disagrees with Postgres, which the next `openAll` repairs.
 */
export class VectorIndexStore {
  readonly #opts: VectorIndexStoreOptions;
  readonly #indexes = new Map<string, CollectionVectorIndex>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #mutex = new KeyedMutex();
  /** Points changed per collection since its last write, for `persistAfterChanges`. */
  readonly #unsavedChanges = new Map<string, number>();
  /** Collections whose write by count is already on its way. */
  readonly #writeQueued = new Set<string>();
  /** How long each collection's last write took and how many points it held: what a write costs. */
  readonly #lastWrite = new Map<string, { ms: number; points: number }>();
  /** The log position every index covers (see `setPosition`), recorded in each file written. */
  #position: bigint | null = null;
  #opened = false;
  #closed = false;

  constructor(opts: VectorIndexStoreOptions) {
    this.#opts = opts;
  }

  /** The file a collection's index is persisted to. */
  filePath(collectionId: string): string {
    assertCollectionId(collectionId);
    return path.join(this.#opts.directory, `${collectionId}${INDEX_SUFFIX}`);
  }

  /**
   * Loads every collection's index, checking it against the source's fingerprint, and rebuilds
   * (in slices that yield to the event loop) and saves those that are missing, damaged or stale.
   * Then deletes index files of collections that no longer exist. Call once, before serving.
   * `signal` stops it between collections (the process is stopping while it loads).
   */
  async openAll(signal?: AbortSignal): Promise<OpenReport> {
    this.#assertOpen();
    if (this.#opened) throw new Error('VectorIndexStore.openAll was already called');
    this.#opened = true;
    await mkdir(this.#opts.directory, { recursive: true });
    const report: OpenReport = {
      loaded: [],
      replayed: [],
      rebuilt: [],
      reasons: {},
      removedFiles: [],
      position: null,
    };
    const log = this.#opts.source.log;
    // Taken before anything is read: whatever the reads below miss is at or above it, in the log.
    const start = log ? await log.position() : null;
    const trimmedBelow = log ? await log.trimmedBelow() : 0n;
    let from = start;
    const ids = await this.#opts.source.collectionIds();
    for (const id of ids) {
      signal?.throwIfAborted();
      const checkpoint = await this.#mutex.run(id, () =>
        this.#open(id, report, { start, trimmedBelow }),
      );
      if (checkpoint !== null && (from === null || checkpoint < from)) from = checkpoint;
    }
    report.removedFiles = await this.#removeLeftovers(new Set(ids));
    report.position = from;
    this.#position = from;
    return report;
  }

  /**
   * Records that every index now covers the change log below `position` (the follower calls this
   * once a catch-up is complete); files written from now on say so. Never moves backwards.
   */
  setPosition(position: bigint): void {
    if (this.#position === null || position > this.#position) this.#position = position;
  }

  /** Is the chunk in the collection's index (live)? */
  has(collectionId: string, label: number): boolean {
    return this.#indexes.get(collectionId)?.has(label) ?? false;
  }

  get(collectionId: string): CollectionVectorIndex | undefined {
    return this.#indexes.get(collectionId);
  }

  /** How many vectors each open collection index holds (for the metrics). */
  counts(): [collectionId: string, vectors: number][] {
    return [...this.#indexes].map(([id, index]) => [id, index.count]);
  }

  /** The collection's index, created empty when it has none (a new collection). */
  ensure(collectionId: string, dimensions: number): CollectionVectorIndex {
    this.#assertOpen();
    assertCollectionId(collectionId);
    const existing = this.#indexes.get(collectionId);
    if (existing) {
      if (existing.dimensions !== dimensions) {
        throw new DimensionMismatchError(
          existing.dimensions,
          dimensions,
          `Collection ${collectionId}`,
        );
      }
      return existing;
    }
    const index = CollectionVectorIndex.create(dimensions, this.#opts.index);
    this.#indexes.set(collectionId, index);
    this.#changed(collectionId);
    return index;
  }

  /**
   * Adds or replaces chunk vectors. The collection's index is created on first use, sized by the
   * first vector. Large additions yield to the event loop between slices.
   */
  add(collectionId: string, items: readonly VectorItem[]): Promise<void> {
    this.#assertOpen();
    assertCollectionId(collectionId);
    return this.#mutex.run(collectionId, async () => {
      if (items.length === 0) return;
      const index = this.ensure(collectionId, items[0]!.vector.length);
      await index.addInBatches(items);
      this.#changed(collectionId, items.length);
    });
  }

  /**
   * Takes chunks out of search; unknown labels are ignored. Waits only for an operation already
   * running on the same collection (a save or an add), never for the disk. Returns how many left.
   */
  remove(collectionId: string, labels: Iterable<number>): Promise<number> {
    this.#assertOpen();
    const list = [...labels];
    return this.#mutex.run(collectionId, () => {
      const removed = this.#indexes.get(collectionId)?.remove(list) ?? 0;
      if (removed > 0) this.#changed(collectionId, removed);
      return removed;
    });
  }

  /**
   * Nearest chunks of a collection, best first, among `only` when given; none for a collection
   * without an index.
   */
  search(
    collectionId: string,
    vector: readonly number[],
    k: number,
    only?: ReadonlySet<number>,
  ): VectorHit[] {
    return this.#indexes.get(collectionId)?.search(vector, k, only) ?? [];
  }

  /** Forgets a deleted collection and deletes its files. */
  drop(collectionId: string): Promise<void> {
    this.#assertOpen();
    const file = this.filePath(collectionId);
    return this.#mutex.run(collectionId, async () => {
      this.#cancelTimer(collectionId);
      this.#indexes.delete(collectionId);
      this.#dirty.delete(collectionId);
      this.#unsavedChanges.delete(collectionId);
      this.#lastWrite.delete(collectionId);
      await removeFile(file);
      await removeFile(sidecarPath(file));
    });
  }

  /** Writes the collection's index now if it has unsaved changes. Resolves true if it wrote. */
  persist(collectionId: string): Promise<boolean> {
    return this.#mutex.run(collectionId, () => this.#save(collectionId));
  }

  /** Writes every index with unsaved changes. */
  async persistAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const id of [...this.#dirty]) {
      await this.persist(id).catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `${failures.length} vector index(es) could not be saved`);
    }
  }

  /**
   * Stops background writes, waits for running operations and writes what is unsaved — within
   * `budgetMs` when given: an index whose write would not fit (estimated from its last write,
   * scaled to its size now) is left to the change log rather than cut off halfway by the
   * shutdown's deadline. Either way the next start loads a checkpoint, never rebuilds.
   */
  async close(opts: { budgetMs?: number } = {}): Promise<CloseReport> {
    const report: CloseReport = { saved: [], leftToLog: [] };
    if (this.#closed) return report;
    this.#closed = true;
    const begun = performance.now();
    for (const id of [...this.#timers.keys()]) this.#cancelTimer(id);
    await this.#mutex.idle();
    const failures: unknown[] = [];
    try {
      for (const id of [...this.#dirty]) {
        const estimate = this.#estimatedWriteMs(id);
        if (
          opts.budgetMs !== undefined &&
          estimate !== null &&
          performance.now() - begun + estimate > opts.budgetMs
        ) {
          report.leftToLog.push(id);
          continue;
        }
        await this.persist(id).then(
          () => report.saved.push(id),
          (error: unknown) => failures.push(error),
        );
      }
    } finally {
      this.#indexes.clear();
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `${failures.length} vector index(es) could not be saved`);
    }
    return report;
  }

  /**
   * A write's cost grows with the points it holds: this collection's last write scaled to its
   * size now, or failing that the largest write of any collection's (null: nothing measured).
   */
  #estimatedWriteMs(id: string): number | null {
    const points = this.#indexes.get(id)?.count ?? 0;
    let last = this.#lastWrite.get(id);
    if (!last || last.points < MIN_POINTS_TO_ESTIMATE) {
      last = undefined;
      for (const other of this.#lastWrite.values()) {
        if (!last || other.points > last.points) last = other;
      }
    }
    // A small write is mostly fixed costs (opening, flushing): scaled up, it would overestimate
    // a large one wildly (10 ms for an empty index read as 20 s for 2,000 points).
    if (!last || last.points < MIN_POINTS_TO_ESTIMATE) return null;
    return (last.ms * Math.max(points, 1)) / Math.max(last.points, 1);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Opens one index; returns the checkpoint position it must be replayed from, if loaded so. */
  async #open(
    id: string,
    report: OpenReport,
    log: { start: bigint | null; trimmedBelow: bigint },
  ): Promise<bigint | null> {
    const file = this.filePath(id);
    const dimensions = await this.#opts.source.dimensions(id);
    let expected: { count: number; checksum: string } | undefined;
    let reason: string;
    try {
      const loadBegun = performance.now();
      const index = await CollectionVectorIndex.load(file, dimensions, {
        ef: this.#opts.index?.ef,
      });
      // Until this process writes it, what a write costs is guessed from the load: it moves the
      // same bytes, and a write also flushes them (measured: 1.1 s to write 100k points, 0.64 s
      // to load them).
      this.#lastWrite.set(id, { ms: 2 * (performance.now() - loadBegun), points: index.count });
      const checkpoint = index.loadedPosition;
      // A checkpoint whose log is still whole: the log since it is the difference from the table.
      if (log.start !== null && checkpoint !== null && checkpoint >= log.trimmedBelow) {
        this.#indexes.set(id, index);
        report.loaded.push(id);
        report.replayed.push(id);
        return checkpoint;
      }
      // No usable position (an older file, or its log trimmed since): compare with the table.
      expected = await this.#opts.source.fingerprint(id);
      if (index.count === expected.count && index.checksum() === expected.checksum) {
        this.#indexes.set(id, index);
        report.loaded.push(id);
        return null;
      }
      reason = `stale: the index holds ${index.count} chunks, the database ${expected.count}`;
      if (index.count === expected.count) reason += ' (different ids)';
    } catch (error) {
      if (!(error instanceof VectorIndexFileError)) throw error;
      reason = error.problem === 'missing' ? 'missing' : `damaged: ${error.message}`;
    }

    expected ??= await this.#opts.source.fingerprint(id);
    const index = CollectionVectorIndex.create(dimensions, {
      ...this.#opts.index,
      initialCapacity: Math.max(expected.count, 1),
    });
    for await (const batch of this.#opts.source.vectors(id, this.#opts.rebuildBatchSize ?? 1000)) {
      await index.addInBatches(batch);
    }
    if (index.checksum() !== expected.checksum) {
      reason += '; the rebuilt index still differs from the fingerprint (written meanwhile?)';
    }
    this.#indexes.set(id, index);
    this.#dirty.add(id);
    // Read after `start`: it covers the log below it.
    await this.#save(id, log.start);
    report.rebuilt.push(id);
    report.reasons[id] = reason;
    return null;
  }

  async #save(id: string, position = this.#position): Promise<boolean> {
    this.#cancelTimer(id);
    this.#writeQueued.delete(id);
    const index = this.#indexes.get(id);
    if (!index || !this.#dirty.has(id)) return false;
    this.#dirty.delete(id);
    const unsaved = this.#unsavedChanges.get(id) ?? 0;
    this.#unsavedChanges.delete(id);
    try {
      const begun = performance.now();
      await index.save(this.filePath(id), position === null ? {} : { position });
      await this.#opts.onSaved?.(id, position);
      this.#lastWrite.set(id, { ms: performance.now() - begun, points: index.count });
      return true;
    } catch (error) {
      this.#dirty.add(id);
      this.#unsavedChanges.set(id, unsaved + (this.#unsavedChanges.get(id) ?? 0));
      throw error;
    }
  }

  #changed(id: string, points = 1): void {
    this.#dirty.add(id);
    const unsaved = (this.#unsavedChanges.get(id) ?? 0) + points;
    this.#unsavedChanges.set(id, unsaved);
    const byCount = this.#opts.persistAfterChanges;
    const share = this.#opts.persistAfterShare ?? 0;
    const threshold =
      byCount === undefined
        ? undefined
        : Math.max(byCount, Math.ceil(share * (this.#indexes.get(id)?.count ?? 0)));
    if (threshold !== undefined && unsaved >= threshold && !this.#closed) {
      if (this.#writeQueued.has(id)) return;
      this.#writeQueued.add(id);
      // After the change that crossed the line has returned (and released the collection's lock).
      setImmediate(() => {
        this.persist(id).catch((error: unknown) => this.#opts.onPersistError(error, id));
      });
      return;
    }
    const delay = this.#opts.persistDelayMs === undefined ? 5000 : this.#opts.persistDelayMs;
    if (delay === null || this.#timers.has(id) || this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.persist(id).catch((error: unknown) => this.#opts.onPersistError(error, id));
    }, delay);
    // A pending write must not keep the process alive; close() writes what is left.
    timer.unref();
    this.#timers.set(id, timer);
  }

  #cancelTimer(id: string): void {
    const timer = this.#timers.get(id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(id);
  }

  async #removeLeftovers(known: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.#opts.directory)) {
      const full = path.join(this.#opts.directory, name);
      const owner = name.endsWith(`${INDEX_SUFFIX}.meta.json`)
        ? name.slice(0, -`${INDEX_SUFFIX}.meta.json`.length)
        : name.endsWith(INDEX_SUFFIX)
          ? name.slice(0, -INDEX_SUFFIX.length)
          : null;
      if (isTemporaryPath(full) || (owner !== null && !known.has(owner))) {
        await removeFile(full);
        removed.push(name);
      }
    }
    return removed.sort();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('This VectorIndexStore is closed');
  }
}

function assertCollectionId(id: string): void {
  // Ids become file names: nothing that could climb out of the directory.
  if (!COLLECTION_ID.test(id))
    throw new RangeError(`Invalid collection id for an index file: ${id}`);
}
