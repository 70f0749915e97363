import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DocumentFailureCode } from '@personas/contracts';
import { auditRepository } from '../../audit/repository';
import { collectionsRepository } from '../../collections/repository';
import type { Db } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { DocumentRow } from '../../db/schema';
import type { Logger } from '../../logger';
import type { ChunkIndexes } from '../../retrieval/chunk-indexes';
import { chunkEmbeddingText } from '../chunker';
import type { Embedder } from '../embeddings/embedder';
import { EmbeddingTimeoutError, EmbeddingUpstreamError } from '../embeddings/errors';
import {
  type ExtractedDocument,
  ExtractionError,
  type ExtractionLimits,
  extractDocument,
} from '../extraction';
import { fetchDocumentUrl, UrlFetchError, type UrlFetchOptions } from '../url-fetch';
import { jobsRepository as jobs } from './jobs-repository';

/** Texts embedded per call: bounds one call's work, and how often progress is written. */
const EMBED_BATCH = 16;
/** The safety net under wake-ups (a NOTIFY missed while the listener reconnected). */
const DEFAULT_POLL_MS = 5_000;
/** How often a waiting upload re-reads its document, for a job another process runs. */
const WAITER_POLL_MS = 500;

export interface IngestionRunnerOptions {
  embedder: Embedder;
  indexes: Pick<ChunkIndexes, 'sync'>;
  extraction: ExtractionLimits;
  urlFetch: UrlFetchOptions;
  /** Jobs this process runs at once (`INGESTION_CONCURRENCY`). */
  concurrency: number;
  /** How long a claim holds without renewal (`INGESTION_LEASE_SECONDS`); renewed every third. */
  leaseMs: number;
  /** Claims of one job before it is given up as failed (`INGESTION_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /**
   * PGlite: one process per database, so every `processing` job at start was the previous
   * process's, and is reclaimed at once rather than after its lease.
   */
  reclaimAtStart: boolean;
  /** Starts LISTENing for other processes' uploads (Postgres); returns how to stop. */
  listen?: (wake: () => void) => { close(): Promise<void> };
  pollMs?: number;
  logger: Logger;
  /** Seams for tests: extraction and fetching as the other modules do them by default. */
  extract?: typeof extractDocument;
  fetchUrl?: typeof fetchDocumentUrl;
}

export interface IngestionRunner {
  /** Look for work now (a job was queued in this process). */
  wake(): void;
  /** Resolves when the document is ready, failed or gone, or after `timeoutMs`, whichever first. */
  settled(documentId: string, timeoutMs: number): Promise<void>;
  /** The document was deleted: its job, if this process runs it, stops now and stores nothing. */
  cancel(documentId: string): void;
  /** Stops claiming, stops the running jobs and hands them back (queued for any process). */
  close(): Promise<void>;
}

/** The job was deleted (cancelled) or taken over: stop, store nothing. */
class JobLost extends Error {
  override name = 'JobLost';
}

/** This process is stopping: hand the job back. */
class RunnerClosing extends Error {
  override name = 'RunnerClosing';
}

/** What a failure means for the document, or null for one that is not the file's fault. */
function failureOf(error: unknown): { code: DocumentFailureCode; detail: string } | null {
  if (error instanceof ExtractionError || error instanceof UrlFetchError) {
    return { code: error.code, detail: error.detail };
  }
  if (error instanceof EmbeddingUpstreamError || error instanceof EmbeddingTimeoutError) {
    return { code: 'embedding_failed', detail: `The embedding model failed: ${error.message}` };
  }
  return null;
}

/**
 * Runs document ingestion jobs, in every process: claims one (SKIP LOCKED, with a lease it renews
 * while it works), extracts, embeds in batches writing progress, and stores every chunk in the one
 * transaction that makes the document `ready` — so a document is never half-visible — replacing
 * the ready document of its path unless a newer upload of that path is ready already (then this
 * one, superseded, is dropped: the last upload accepted wins). A process that dies mid-job leaves
 * its lease to run out, and any process takes the job over; attempts are bounded.
 */
export function startIngestionRunner(db: Db, opts: IngestionRunnerOptions): IngestionRunner {
  const owner = `${process.pid}:${randomUUID()}`;
  const { logger, embedder } = opts;
  const extract = opts.extract ?? extractDocument;
  const fetchUrl = opts.fetchUrl ?? fetchDocumentUrl;
  const settledEvents = new EventEmitter().setMaxListeners(0);
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  let closed = false;
  let pumping = false;
  let again = false;
  let ready: Promise<void> = Promise.resolve();

  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        await ready;
        for (const id of await jobs.giveUpExhausted(db, opts.maxAttempts)) {
          settledEvents.emit(id);
        }
        while (!closed && running.size < opts.concurrency) {
          const job = await jobs.claimNext(db, owner, opts);
          if (!job) break;
          start(job);
        }
      } while (again && !closed);
    } catch (error) {
      // The database is away: the poll tries again.
      logger.warn({ err: error }, 'ingestion: looking for jobs failed');
    } finally {
      pumping = false;
    }
  }

  const wake = () => {
    if (!closed) void pump();
  };

  function start(job: DocumentRow): void {
    const abort = new AbortController();
    const renew = setInterval(
      () => {
        jobs.renewLease(db, job.id, owner, opts.leaseMs).then(
          (held) => {
            if (!held) abort.abort(new JobLost(`Document ${job.id} was deleted or taken over`));
          },
          (error: unknown) => logger.warn({ err: error }, 'ingestion: renewing a lease failed'),
        );
      },
      Math.max(500, Math.floor(opts.leaseMs / 3)),
    );
    renew.unref();
    const done = run(job, abort.signal)
      .catch((error: unknown) => settle(job, error, abort.signal))
      .catch((error: unknown) => logger.error({ err: error }, 'ingestion: settling a job failed'))
      .finally(() => {
        clearInterval(renew);
        running.delete(job.id);
        settledEvents.emit(job.id);
        wake();
      });
    running.set(job.id, { abort, done });
  }

  async function settle(job: DocumentRow, error: unknown, signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      if (signal.reason instanceof RunnerClosing) await jobs.release(db, job.id, owner);
      return; // JobLost: deleted or taken over; nothing of it is stored
    }
    if (error instanceof JobLost) return;
    const failure = failureOf(error);
    if (failure) {
      await jobs.fail(db, job.id, owner, failure);
      return;
    }
    // Not the file's fault as far as we can tell (a bug, the database away): count it as an
    // attempt, and give up once they are used, rather than loop.
    logger.error({ err: error, documentId: job.id }, 'ingestion: a job failed unexpectedly');
    if (job.attempts >= opts.maxAttempts) {
      await jobs.fail(db, job.id, owner, {
        code: 'corrupt',
        detail: `The file could not be processed after ${job.attempts} attempts`,
      });
    } else {
      await jobs.release(db, job.id, owner, { countAttempt: true });
    }
  }

  async function run(job: DocumentRow, signal: AbortSignal): Promise<void> {
    const check = () => signal.throwIfAborted();
    let bytes: Uint8Array | undefined;
    let declaredType = job.declared_type ?? undefined;
    if (job.source_url) {
      const fetched = await fetchUrl(job.source_url, opts.urlFetch, signal);
      bytes = fetched.bytes;
      declaredType = fetched.contentType ?? declaredType;
    } else {
      bytes = await jobs.readSource(db, job.id);
      if (!bytes) throw new JobLost(`Document ${job.id} has no source any more`);
    }
    check();
    const extracted: ExtractedDocument = await extract(
      { bytes, fileName: job.file_name, declaredType },
      opts.extraction,
      { signal },
    );
    check();
    const total = extracted.chunks.length;
    const lost = () => new JobLost(`Document ${job.id} was deleted or taken over`);
    const held = await jobs.progress(db, job.id, owner, {
      chunks_done: 0,
      chunks_total: total,
      pages: extracted.pages,
      content_type: extracted.contentType,
      bytes: bytes.length,
    });
    if (!held) throw lost();
    const texts = extracted.chunks.map(chunkEmbeddingText);
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const batch = await embedder.embed(texts.slice(i, i + EMBED_BATCH), { signal });
      for (const v of batch) {
        if (v.length !== embedder.dimensions) {
          throw new EmbeddingUpstreamError(
            `the embedder returned ${v.length} dimensions; the collection expects ${embedder.dimensions}`,
          );
        }
      }
      vectors.push(...batch);
      check();
      if (!(await jobs.progress(db, job.id, owner, { chunks_done: vectors.length }))) throw lost();
      await yieldToEventLoop();
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const store = () =>
      db.transaction().execute(async (trx) => {
        // Still ours? A deletion (cancel) or a takeover since leaves nothing to store.
        const held = await jobs.lockHeld(trx, job.id, owner);
        if (!held) return null;
        if (held.doc_path !== '') {
          const others = await jobs.readyOfPath(trx, held.collection_id, held.doc_path, job.id);
          if (others.some((o) => o.newer)) {
            // A later upload of this path is ready already: it wins; this one goes.
            await collectionsRepository.deleteDocument(trx, job.id);
            return { labels: [] as number[] };
          }
          for (const other of others) await collectionsRepository.deleteDocument(trx, other.id);
        }
        const labels = await collectionsRepository.insertChunks(
          trx,
          extracted.chunks.map((chunk, i) => ({
            collection_id: held.collection_id,
            document_id: job.id,
            position: chunk.index,
            heading_path: chunk.headingPath,
            text: chunk.text,
            page: chunk.page,
            embedding: vectors[i]!,
          })),
        );
        await jobs.markReady(trx, job.id, {
          chunk_count: total,
          bytes: bytes.length,
          content_sha256: sha256,
          content_type: extracted.contentType,
          pages: extracted.pages,
        });
        await auditRepository.record(trx, {
          actorId: held.uploaded_by,
          action: 'document.added',
          targetId: job.id,
        });
        return { labels };
      });
    check();
    // Two processes finishing uploads of one path at once: the unique index refused the later
    // commit; once more sees the other one ready and settles who wins.
    const stored = await store().catch((error: unknown) =>
      isUniqueViolation(error) ? store() : Promise.reject(error),
    );
    if (!stored) throw new JobLost(`Document ${job.id} was deleted while it was processed`);
    // Read your own writes: searchable through this process before anyone is told it is ready.
    await opts.indexes.sync(
      stored.labels.map((label, i) => ({ label, vector: vectors[i]!, text: texts[i]! })),
    );
  }

  const listener = opts.listen?.(wake);
  if (opts.reclaimAtStart) ready = jobs.expireAllLeases(db).catch(() => undefined);
  const poll = setInterval(wake, opts.pollMs ?? DEFAULT_POLL_MS);
  poll.unref();
  wake();

  return {
    wake,

    async settled(documentId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await jobs.status(db, documentId);
        if (status === 'ready') {
          // Read your own writes: `ready` is in Postgres the moment it commits, before the
          // runner has applied the chunks to the indexes; the upload answers once it has (this
          // process's job), or once this process has applied the log (another process's).
          await running.get(documentId)?.done;
          await opts.indexes.sync();
          return;
        }
        if (status === undefined || status === 'failed') return;
        const left = deadline - Date.now();
        if (left <= 0 || closed) return;
        // Woken by this process's runner as the job ends, or after a while to look again (the
        // job may be another process's).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(left, WAITER_POLL_MS));
          function done() {
            clearTimeout(timer);
            settledEvents.off(documentId, done);
            resolve();
          }
          settledEvents.on(documentId, done);
        });
      }
    },

    cancel(documentId) {
      running.get(documentId)?.abort.abort(new JobLost(`Document ${documentId} was deleted`));
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      await listener?.close();
      const stopping = [...running.values()];
      for (const { abort } of stopping) abort.abort(new RunnerClosing('the server is stopping'));
      await Promise.allSettled(stopping.map((r) => r.done));
    },
  };
}
