import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceUnavailableError } from '@personas/contracts';
import type { Logger } from '../logger';
import type { ChunkIndexes, IndexStatus, OpenedChunkIndexes } from './chunk-indexes';
import type { OpenReport } from './vector/vector-index-store';

/** What `/readyz` says while the indexes load: come back in about this long. */
export const INDEXES_LOADING_RETRY_AFTER_SECONDS = 5;

/** Between attempts to open the indexes when an attempt failed (the database was down, say). */
const RETRY_OPEN_MS = [1_000, 2_000, 5_000, 10_000];

export interface LoadingIndexesOptions {
  /** How long a search waits for the indexes before answering 503 with `Retry-After`. */
  readyWaitMs: number;
}

/** The indexes as the services and `/readyz` see them while (and after) they load. */
export type LoadingChunkIndexes = ChunkIndexes & {
  /** Resolves once the indexes are open and caught up with the log (never rejects). */
  readonly loaded: Promise<void>;
  readonly report: OpenReport;
  status(): IndexStatus;
  /** How far the indexes are behind the change log; null while they load. */
  lag(): Promise<{ changes: number; seconds: number } | null>;
  sizes(): ReturnType<OpenedChunkIndexes['sizes']>;
  close(): Promise<void>;
};

const EMPTY_REPORT: OpenReport = {
  loaded: [],
  replayed: [],
  rebuilt: [],
  reasons: {},
  removedFiles: [],
  position: null,
};

/**
 * Opens the indexes in the background, so the process listens at once: `/healthz` answers while
 * they load (a rebuild takes minutes at a few hundred thousand chunks), `/readyz` says 503
 * `indexes_loading`, and a search waits up to `readyWaitMs` for them, then answers 503 with
 * `Retry-After` rather than hold the request for minutes or answer from an empty index.
 *
 * A failed open (Postgres unreachable at start) is retried with backoff until it succeeds or the
 * process stops: the process stays up and serves what needs no index meanwhile.
 */
export function loadChunkIndexesInBackground(
  open: (signal: AbortSignal) => Promise<OpenedChunkIndexes>,
  logger: Logger,
  opts: LoadingIndexesOptions,
): LoadingChunkIndexes {
  let opened: OpenedChunkIndexes | null = null;
  const stopping = new AbortController();
  let markLoaded: () => void = () => {};
  const loaded = new Promise<void>((resolve) => {
    markLoaded = resolve;
  });

  const attempts = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; attempt++) {
      try {
        opened = await open(stopping.signal);
        markLoaded();
        return;
      } catch (err) {
        if (stopping.signal.aborted) return;
        const waitMs = RETRY_OPEN_MS[Math.min(attempt, RETRY_OPEN_MS.length - 1)]!;
        logger.error({ err, retryInMs: waitMs }, 'the indexes could not be opened; retrying');
        await sleep(waitMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();

  /** The open indexes, waiting up to `readyWaitMs` for them. */
  async function whenOpen(): Promise<OpenedChunkIndexes> {
    if (opened) return opened;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.readyWaitMs);
    });
    await Promise.race([loaded, late]);
    clearTimeout(timer);
    if (opened) return opened;
    throw new ServiceUnavailableError(
      'The search indexes are still loading after a start; try again shortly',
      INDEXES_LOADING_RETRY_AFTER_SECONDS,
      { reason: 'indexes_loading' },
    );
  }

  function mustBeOpen(): OpenedChunkIndexes {
    // The retriever awaits `whenLoaded` first; reaching this unopened is a programming error.
    if (!opened) throw new Error('The indexes are not open yet: await whenLoaded() first');
    return opened;
  }

  return {
    loaded,
    get report() {
      return opened?.report ?? EMPTY_REPORT;
    },
    status: () =>
      opened?.status() ?? {
        loading: true,
        loaded: 0,
        replayed: 0,
        rebuilt: 0,
        lexical: { loaded: 0, rebuilt: 0 },
      },
    lag: async () => (opened ? opened.lag() : null),
    sizes: () => opened?.sizes() ?? [],
    async whenLoaded() {
      await whenOpen();
    },
    async sync(own) {
      // A write committed while the indexes load is in Postgres's change log, which the load
      // replays: there is nothing to wait for, and searches answer 503 until then anyway.
      if (opened) await opened.sync(own);
    },
    nearest: (collectionId, vector, k, only) => mustBeOpen().nearest(collectionId, vector, k, only),
    lexical: (collectionId, query, k, only) => mustBeOpen().lexical(collectionId, query, k, only),
    async close() {
      stopping.abort();
      await attempts;
      await opened?.close();
    },
  };
}
