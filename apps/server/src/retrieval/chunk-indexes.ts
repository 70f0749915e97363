import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { collectionsRepository } from '../collections/repository';
import type { Db } from '../db/connect';
import { chunkEmbeddingText } from '../ingestion/chunker';
import type { Logger } from '../logger';
import { ChangeFollower, type ChangeTarget, type IndexChunk } from './change-log/change-follower';
import { changeLogRepository } from './change-log/change-log-repository';
import { Bm25Index } from './lexical/bm25-index';
import { loadBm25Image, removeBm25Image, saveBm25Image } from './lexical/bm25-index-file';
import { chunkTexts, createPostgresChunkSource } from './postgres-chunk-source';
import { isTemporaryPath, removeFile } from './vector/vector-index-file';
import { type OpenReport, VectorIndexStore } from './vector/vector-index-store';

/**
 * What the knowledge service needs from the in-process indexes of each collection: the HNSW
 * vector index and the lexical (BM25) one. Both are caches of the chunks table, keyed by chunk id,
 * kept equal to it by following the change log; Postgres stays the source of truth.
 */
export interface ChunkIndexes {
  /**
   * Applies every change committed before the call (this process's or another's) and resolves
   * once it is searchable: call it after each commit that added or deleted chunks or collections,
   * so a write is found through the process that answered it at once. `own`: the chunks just
   * committed, as they are in memory, so they are not read back.
   */
  sync(own?: readonly IndexChunk[]): Promise<void>;
  /**
   * Resolves once the indexes are open (a start loads them in the background); rejects with a
   * 503 `indexes_loading` when that takes longer than a search should wait. Await it before
   * `nearest` and `lexical`.
   */
  whenLoaded(): Promise<void>;
  /**
   * Nearest chunks by cosine similarity over normalized vectors, best first; among `only` (chunk
   * ids a filter allows) when given, applied before the cut to `k`.
   */
  nearest(
    collectionId: string,
    vector: number[],
    k: number,
    only?: ReadonlySet<number>,
  ): { label: number; cosine: number }[];
  /** Best lexical (BM25) matches, best first; among `only` when given, as `nearest`. */
  lexical(collectionId: string, query: string, k: number, only?: ReadonlySet<number>): number[];
}

export interface IndexStatus {
  /** Still opening after a start: the figures below are not known yet. */
  loading: boolean;
  /** Indexes loaded from their files; `replayed` of them from a checkpoint plus the log since. */
  loaded: number;
  replayed: number;
  /** Full rebuilds from the chunks table. */
  rebuilt: number;
  /** Lexical indexes loaded from their images (and replayed), or rebuilt from the table. */
  lexical: { loaded: number; rebuilt: number };
}

export interface ChunkIndexOptions {
  /**
   * Starts listening for change notifications (Postgres); returns how to stop. Without one the
   * periodic check alone picks up other writers (PGlite has none: it is one process).
   */
  listen?: (wake: () => void) => { close(): Promise<void> };
  /** The safety net: how often the log is checked without a notification. Default 1000 ms. */
  syncIntervalMs?: number;
  /** An index file is written after this many changed points… Default 10,000. */
  checkpointChanges?: number;
  /**
   * …or, for an index larger than that, this share of its points (default 0.25): each write
   * rewrites the whole file, so a fixed count would make the bytes written per chunk, and the
   * pauses of the collection's writers, grow with it. A crash then leaves at most that share (or
   * what changed since the timed checkpoint below) to replay from the log.
   */
  checkpointShare?: number;
  /** …or this long after its first unsaved change. Default 300,000 ms (5 minutes). */
  checkpointIntervalMs?: number | null;
  /** Log rows older than this are trimmed (hourly). Default 7 days; null never trims. */
  logRetentionMs?: number | null;
  /** Stops a start's loading early (the process is shutting down). */
  signal?: AbortSignal;
  /**
   * How long `close` may spend writing indexes (the shutdown's budget, less what draining takes):
   * an index whose write would not fit stays with its last checkpoint and the log. Default none.
   */
  closeBudgetMs?: number;
}

const LEXICAL_SUFFIX = '.bm25';

/** Deletes the images of collections that no longer exist and unfinished temporary files. */
async function removeLexicalLeftovers(directory: string, known: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return; // no images yet
  }
  for (const name of names) {
    const owner = name.split('.')[0]!;
    if (isTemporaryPath(name) || !known.has(owner)) {
      await removeFile(path.join(directory, name));
    }
  }
}

/** Chunks tokenized per slice (~15 ms) before yielding to other requests. */
const LEXICAL_BATCH = 100;
const TRIM_EVERY_MS = 3_600_000;
/** The first trim waits a little: a start has more urgent work. */
const FIRST_TRIM_AFTER_MS = 60_000;

/**
 * Opens the indexes of every collection and keeps them following the change log: vector indexes
 * from their checkpoint files (replaying the log since) or verified against Postgres (rebuilt
 * when missing, damaged or stale), lexical indexes rebuilt from the chunks table (a few seconds
 * for 50k chunks); then the log is replayed to the present before this resolves.
 */
export type OpenedChunkIndexes = ChunkIndexes & {
  report: OpenReport;
  status(): IndexStatus;
  lag(): Promise<{ changes: number; seconds: number }>;
  /** Entries per collection in each kind of index, as the metrics export them. */
  sizes(): { collectionId: string; vectors: number; lexical: number }[];
  close(): Promise<void>;
};

export async function openChunkIndexes(
  db: Db,
  dataDir: string,
  logger: Logger,
  opts: ChunkIndexOptions = {},
): Promise<OpenedChunkIndexes> {
  const lexicalIndexes = new Map<string, Bm25Index>();
  /** Lexical indexes rebuilt at start and not saved since: written at close at the latest. */
  const withoutImage = new Set<string>();
  const lexicalDirectory = path.join(dataDir, 'lexical-indexes');
  const lexicalPath = (collectionId: string) =>
    path.join(lexicalDirectory, `${collectionId}${LEXICAL_SUFFIX}`);
  const vectors = new VectorIndexStore({
    directory: path.join(dataDir, 'indexes'),
    source: {
      ...createPostgresChunkSource(db),
      log: {
        position: () => changeLogRepository.snapshotXmin(db),
        trimmedBelow: () => changeLogRepository.trimmedBelow(db),
      },
    },
    // Checkpoints, not the only copy: a file behind the log is brought up to date at the next
    // start, so it is written by count and by time rather than after every document.
    persistAfterChanges: opts.checkpointChanges ?? 10_000,
    persistAfterShare: opts.checkpointShare ?? 0.25,
    persistDelayMs: opts.checkpointIntervalMs === undefined ? 300_000 : opts.checkpointIntervalMs,
    onPersistError: (err, collectionId) =>
      logger.error({ err, collectionId }, 'an index could not be saved; retried later'),
    // The lexical index is checkpointed with the vector index, at the same log position (its
    // state may be ahead of it, mid catch-up: replaying what it holds already changes nothing).
    onSaved: async (collectionId, position) => {
      const lexical = lexicalIndexes.get(collectionId);
      if (lexical && position !== null) {
        await saveBm25Image(lexicalPath(collectionId), lexical, position);
        withoutImage.delete(collectionId);
      }
    },
  });
  const { signal } = opts;
  let report: OpenReport;
  try {
    report = await vectors.openAll(signal);
  } catch (error) {
    await vectors.close();
    throw error;
  }
  const lexicalOf = (collectionId: string) => {
    let index = lexicalIndexes.get(collectionId);
    if (!index) {
      index = new Bm25Index();
      lexicalIndexes.set(collectionId, index);
    }
    return index;
  };
  // Each lexical index from its image when the log since it is whole, else from the chunks table
  // — read after the vector store took its starting position, so the replay below covers
  // whatever these reads missed.
  const trimmedBelow = await changeLogRepository.trimmedBelow(db);
  const lexicalReport = { loaded: 0, rebuilt: 0 };
  let from = report.position ?? 0n;
  const collectionIds = await collectionsRepository.allIds(db);
  for (const id of collectionIds) {
    if (signal?.aborted) {
      await vectors.close();
      signal.throwIfAborted();
    }
    const image = await loadBm25Image(lexicalPath(id));
    if (image && image.position >= trimmedBelow) {
      lexicalIndexes.set(id, image.index);
      if (image.position < from) from = image.position;
      lexicalReport.loaded++;
      continue;
    }
    const index = lexicalOf(id);
    for await (const page of chunkTexts(db, id)) {
      index.add(page.map((c) => ({ label: c.label, text: chunkEmbeddingText(c) })));
      await yieldToEventLoop();
    }
    lexicalReport.rebuilt++;
    withoutImage.add(id);
  }
  await removeLexicalLeftovers(lexicalDirectory, new Set(collectionIds));

  const target: ChangeTarget = {
    async drop(collectionId) {
      lexicalIndexes.delete(collectionId);
      await vectors.drop(collectionId);
      await removeBm25Image(lexicalPath(collectionId));
    },
    async remove(collectionId, labels) {
      lexicalIndexes.get(collectionId)?.remove(labels);
      await vectors.remove(collectionId, labels);
    },
    missing(collectionId, labels) {
      const lexical = lexicalIndexes.get(collectionId);
      return labels.filter((label) => !vectors.has(collectionId, label) || !lexical?.has(label));
    },
    async add(collectionId, chunks) {
      await vectors.add(
        collectionId,
        chunks.filter((c) => !vectors.has(collectionId, c.label)),
      );
      const lexical = lexicalOf(collectionId);
      const fresh = chunks.filter((c) => !lexical.has(c.label));
      for (let i = 0; i < fresh.length; i += LEXICAL_BATCH) {
        lexical.add(
          fresh.slice(i, i + LEXICAL_BATCH).map((c) => ({ label: c.label, text: c.text })),
        );
        await yieldToEventLoop();
      }
    },
  };
  const follower = new ChangeFollower(db, target, {
    from,
    onPosition: (position) => vectors.setPosition(position),
  });
  let closed = false;
  let failing = false;
  const wake = () => {
    if (closed) return;
    follower.sync().then(
      () => {
        if (failing) logger.info('the indexes follow the change log again');
        failing = false;
      },
      (err: unknown) => {
        // Once per outage: the periodic check retries every second.
        if (!failing) logger.warn({ err }, 'the change log could not be read; retrying');
        failing = true;
      },
    );
  };
  // Listening before the replay: a notification during it only costs one more (empty) check.
  const listener = opts.listen?.(wake);
  try {
    await follower.sync();
  } catch (error) {
    await listener?.close();
    await vectors.close();
    throw error;
  }
  const replayedChanges = follower.appliedChanges;
  logger.info(
    {
      vector: {
        loaded: report.loaded.length,
        replayed: report.replayed.length,
        rebuilt: report.rebuilt.length,
      },
      lexical: lexicalReport,
      changes: replayedChanges,
    },
    'indexes open and up to date with the change log',
  );
  const interval = setInterval(wake, opts.syncIntervalMs ?? 1000);
  interval.unref();

  const retention = opts.logRetentionMs === undefined ? 7 * 86_400_000 : opts.logRetentionMs;
  const trim = () => {
    if (retention === null || closed) return;
    changeLogRepository
      .trimOlderThan(db, new Date(Date.now() - retention))
      .catch((err: unknown) => logger.warn({ err }, 'the change log could not be trimmed'));
  };
  const firstTrim = setTimeout(trim, FIRST_TRIM_AFTER_MS);
  firstTrim.unref();
  const trimInterval = setInterval(trim, TRIM_EVERY_MS);
  trimInterval.unref();

  return {
    report,
    whenLoaded: async () => {},
    status: () => ({
      loading: false,
      loaded: report.loaded.length,
      replayed: report.replayed.length,
      rebuilt: report.rebuilt.length,
      lexical: lexicalReport,
    }),
    lag: () => follower.lag(),
    sizes: () =>
      vectors.counts().map(([collectionId, count]) => ({
        collectionId,
        vectors: count,
        lexical: lexicalIndexes.get(collectionId)?.count ?? 0,
      })),
    sync: (own) => follower.sync(own),
    nearest(collectionId, vector, k, only) {
      return vectors
        .search(collectionId, vector, k, only)
        .map((h) => ({ label: h.label, cosine: h.cosineSimilarity }));
    },
    lexical(collectionId, query, k, only) {
      return (lexicalIndexes.get(collectionId)?.search(query, k, only) ?? []).map((h) => h.label);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(interval);
      clearInterval(trimInterval);
      clearTimeout(firstTrim);
      await listener?.close();
      await follower.idle();
      const saving = await vectors.close({ budgetMs: opts.closeBudgetMs });
      if (saving.leftToLog.length > 0) {
        logger.warn(
          { collections: saving.leftToLog },
          'indexes not written at shutdown (their write would not fit the shutdown budget): the next start replays the change log since their last checkpoint',
        );
      }
      // So that the next start loads them, though nothing changed them in this run.
      for (const id of withoutImage) {
        const lexical = lexicalIndexes.get(id);
        if (!lexical) continue;
        await saveBm25Image(lexicalPath(id), lexical, follower.position).catch((err: unknown) =>
          logger.error({ err, collectionId: id }, 'a lexical index could not be saved'),
        );
      }
    },
  };
}
