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
   * only on `persist`, `persistAll` and `close`. Default 5000 ms. Staleness is never data loss:
   * an index behind Postgres is rebuilt at the next start.
   */
  persistDelayMs?: number | null;
  /**
   * Background writes have no caller to reject; they report here (the server passes its logger).
   * Reporting is all that is needed: the index stays marked unsaved, so its next change
   * schedules another write and `close` writes it.
   */
  onPersistError: (error: unknown, collectionId: string) => void;
}

export interface OpenReport {
  /** Collections whose persisted index matched Postgres. */
  loaded: string[];
  /** Collections rebuilt from Postgres (and saved). */
  rebuilt: string[];
  /** Why each rebuilt collection was rebuilt: missing, damaged or stale. */
  reasons: Record<string, string>;
  /** Leftovers deleted: indexes of collections that no longer exist, unfinished temporary files. */
  removedFiles: string[];
}

const INDEX_SUFFIX = '.hnsw';
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
   */
  async openAll(): Promise<OpenReport> {
    this.#assertOpen();
    if (this.#opened) throw new Error('VectorIndexStore.openAll was already called');
    this.#opened = true;
    await mkdir(this.#opts.directory, { recursive: true });
    const report: OpenReport = { loaded: [], rebuilt: [], reasons: {}, removedFiles: [] };
    const ids = await this.#opts.source.collectionIds();
    for (const id of ids) {
      await this.#mutex.run(id, () => this.#open(id, report));
    }
    report.removedFiles = await this.#removeLeftovers(new Set(ids));
    return report;
  }

  get(collectionId: string): CollectionVectorIndex | undefined {
    return this.#indexes.get(collectionId);
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
      this.#changed(collectionId);
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
      if (removed > 0) this.#changed(collectionId);
      return removed;
    });
  }

  /** Nearest chunks of a collection, best first; none for a collection without an index. */
  search(collectionId: string, vector: readonly number[], k: number): VectorHit[] {
    return this.#indexes.get(collectionId)?.search(vector, k) ?? [];
  }

  /** Forgets a deleted collection and deletes its files. */
  drop(collectionId: string): Promise<void> {
    this.#assertOpen();
    const file = this.filePath(collectionId);
    return this.#mutex.run(collectionId, async () => {
      this.#cancelTimer(collectionId);
      this.#indexes.delete(collectionId);
      this.#dirty.delete(collectionId);
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

  /** Stops background writes, waits for running operations and writes what is unsaved. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#timers.keys()]) this.#cancelTimer(id);
    await this.#mutex.idle();
    try {
      await this.persistAll();
    } finally {
      this.#indexes.clear();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #open(id: string, report: OpenReport): Promise<void> {
    const file = this.filePath(id);
    const dimensions = await this.#opts.source.dimensions(id);
    const expected = await this.#opts.source.fingerprint(id);
    let reason: string;
    try {
      const index = await CollectionVectorIndex.load(file, dimensions, {
        ef: this.#opts.index?.ef,
      });
      if (index.count === expected.count && index.checksum() === expected.checksum) {
        this.#indexes.set(id, index);
        report.loaded.push(id);
        return;
      }
      reason = `stale: the index holds ${index.count} chunks, the database ${expected.count}`;
      if (index.count === expected.count) reason += ' (different ids)';
    } catch (error) {
      if (!(error instanceof VectorIndexFileError)) throw error;
      reason = error.problem === 'missing' ? 'missing' : `damaged: ${error.message}`;
    }

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
    await this.#save(id);
    report.rebuilt.push(id);
    report.reasons[id] = reason;
  }

  async #save(id: string): Promise<boolean> {
    this.#cancelTimer(id);
    const index = this.#indexes.get(id);
    if (!index || !this.#dirty.has(id)) return false;
    this.#dirty.delete(id);
    try {
      await index.save(this.filePath(id));
      return true;
    } catch (error) {
      this.#dirty.add(id);
      throw error;
    }
  }

  #changed(id: string): void {
    this.#dirty.add(id);
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
