import { collectionsRepository } from '../../collections/repository';
import type { Db } from '../../db/connect';
import { chunkEmbeddingText } from '../../ingestion/chunker';
import { type ChunkChange, changeLogRepository } from './change-log-repository';

/** A chunk as both indexes take it: its id, its vector, and its text as embedded. */
export interface IndexChunk {
  label: number;
  vector: number[];
  text: string;
}

/** What the follower changes: the in-process indexes of every collection. */
export interface ChangeTarget {
  drop(collectionId: string): Promise<void>;
  remove(collectionId: string, labels: number[]): Promise<void>;
  /** The labels among `labels` that some index of the collection does not hold yet. */
  missing(collectionId: string, labels: number[]): number[];
  /** Adds each chunk to whichever index lacks it. */
  add(collectionId: string, chunks: IndexChunk[]): Promise<void>;
}

export interface ChangeFollowerOptions {
  /** The log position to start from: every change below it is already in the indexes. */
  from: bigint;
  /** Called after each complete catch-up with the position now covered. */
  onPosition?: (position: bigint) => void;
  /** Log rows read per query. Default 500. */
  pageSize?: number;
  /** Chunks read back per query when applying additions. Default 500. */
  fetchBatch?: number;
}

/** Bounds one catch-up: 100k pages of 500 rows, far beyond any log this keeps. */
const MAX_PAGES = 100_000;

/**
 * Keeps this process's indexes equal to the chunks table by applying the change log.
 *
 * Each catch-up reads the safe watermark X (`pg_snapshot_xmin`) first, then every visible log row
 * at or above its position P, applies them and moves P to X. Rows below X can no longer appear,
 * so nothing is skipped; rows at or above X that were applied are remembered (by row id) until P
 * passes them, so a later catch-up, which reads them again, does not apply them twice.
 *
 * Applying is order-insensitive, so rows may be applied in any order and more than once: chunk
 * ids are never reused, a removal wins over an addition of the same chunk, an addition reads the
 * chunk back from the table (absent: deleted since, nothing to add) unless it is this process's
 * own, just committed, and a dropped collection's rows are ignored.
 */
export class ChangeFollower {
  readonly #db: Db;
  readonly #target: ChangeTarget;
  readonly #opts: ChangeFollowerOptions;
  #position: bigint;
  /** Log rows at or above the position that are applied: row id → xid. */
  readonly #applied = new Map<number, bigint>();
  /** Chunks this process committed and has in memory, by label: not read back. */
  readonly #own = new Map<number, IndexChunk>();
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  /** Log rows applied since start (for reports). */
  appliedChanges = 0;

  constructor(db: Db, target: ChangeTarget, opts: ChangeFollowerOptions) {
    this.#db = db;
    this.#target = target;
    this.#opts = opts;
    this.#position = opts.from;
  }

  /** Every change below this is applied. */
  get position(): bigint {
    return this.#position;
  }

  /**
   * Applies every change committed before the call; resolves once they are in the indexes.
   * Calls made while a catch-up runs share the next one. `own`: chunks the caller has just
   * committed, used as they are instead of being read back.
   */
  async sync(own?: readonly IndexChunk[]): Promise<void> {
    for (const chunk of own ?? []) this.#own.set(chunk.label, chunk);
    try {
      await this.#request();
    } finally {
      for (const chunk of own ?? []) this.#own.delete(chunk.label);
    }
  }

  /** How far behind the table the indexes are: log rows not applied, and the age of the oldest. */
  async lag(): Promise<{ changes: number; seconds: number }> {
    const { changes, seconds } = await changeLogRepository.pending(this.#db, this.#position, [
      ...this.#applied.keys(),
    ]);
    return { changes, seconds: Math.max(0, Math.round(seconds * 1000) / 1000) };
  }

  /** Resolves once no catch-up is running or queued. */
  async idle(): Promise<void> {
    for (let i = 0; i < 3 && (this.#running || this.#queued); i++) {
      await (this.#queued ?? this.#running)?.catch(() => undefined);
    }
  }

  #request(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (this.#running) {
      const queued = this.#running
        .catch(() => undefined)
        .then(() => {
          this.#queued = null;
          return this.#start();
        });
      this.#queued = queued;
      return queued;
    }
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.#catchUp().finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }

  async #catchUp(): Promise<void> {
    // First the watermark, then the rows: whatever commits in between is read too (harmless),
    // and nothing below the watermark can commit after it was taken.
    const watermark = await changeLogRepository.snapshotXmin(this.#db);
    const pageSize = this.#opts.pageSize ?? 500;
    const removed = new Set<number>();
    const dropped = new Set<string>();
    let after: ChunkChange | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const rows = await changeLogRepository.changesFrom(this.#db, this.#position, after, pageSize);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!;
      const fresh = rows.filter((r) => !this.#applied.has(r.id));
      await this.#apply(fresh, removed, dropped);
      for (const r of fresh) if (r.xid >= watermark) this.#applied.set(r.id, r.xid);
      this.appliedChanges += fresh.length;
      if (rows.length < pageSize) break;
    }
    for (const [id, xid] of this.#applied) if (xid < watermark) this.#applied.delete(id);
    if (watermark > this.#position) this.#position = watermark;
    this.#opts.onPosition?.(this.#position);
  }

  async #apply(rows: ChunkChange[], removed: Set<number>, dropped: Set<string>): Promise<void> {
    const byCollection = new Map<string, { adds: number[]; removes: number[] }>();
    for (const row of rows) {
      if (row.kind === 'drop') {
        dropped.add(row.collectionId);
        continue;
      }
      let entry = byCollection.get(row.collectionId);
      if (!entry) {
        entry = { adds: [], removes: [] };
        byCollection.set(row.collectionId, entry);
      }
      (row.kind === 'add' ? entry.adds : entry.removes).push(...row.chunkIds);
    }
    for (const row of rows) {
      if (row.kind === 'drop') await this.#target.drop(row.collectionId);
    }
    // Removals first: an addition of a chunk removed in the same catch-up is never applied.
    for (const [collectionId, { removes }] of byCollection) {
      if (dropped.has(collectionId) || removes.length === 0) continue;
      for (const label of removes) removed.add(label);
      await this.#target.remove(collectionId, removes);
    }
    for (const [collectionId, { adds }] of byCollection) {
      if (dropped.has(collectionId) || adds.length === 0) continue;
      const wanted = this.#target.missing(
        collectionId,
        adds.filter((label) => !removed.has(label)),
      );
      await this.#addChunks(collectionId, wanted);
    }
  }

  async #addChunks(collectionId: string, labels: number[]): Promise<void> {
    const chunks: IndexChunk[] = [];
    const toRead: number[] = [];
    for (const label of labels) {
      const own = this.#own.get(label);
      if (own) chunks.push(own);
      else toRead.push(label);
    }
    if (chunks.length > 0) await this.#target.add(collectionId, chunks);
    const batch = this.#opts.fetchBatch ?? 500;
    for (let i = 0; i < toRead.length; i += batch) {
      const rows = await collectionsRepository.chunkIndexItems(
        this.#db,
        collectionId,
        toRead.slice(i, i + batch),
      );
      if (rows.length === 0) continue;
      await this.#target.add(
        collectionId,
        rows.map((r) => ({ label: r.label, vector: r.vector, text: chunkEmbeddingText(r) })),
      );
    }
  }
}
