import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: from a fast database read to a slow model answer. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Connection counts of a pg pool, read when Prometheus scrapes (null on the embedded PGlite). */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * Every metric the server exports, in one registry per app (tests run several apps in one
 * process). Names follow Prometheus conventions: base units (`_seconds`), `_total` counters,
 * labels of bounded cardinality (route templates, never raw URLs).
 */
export function createMetrics() {
  const registry = new Registry();
  // Process and runtime: CPU, memory, GC, handles, and event-loop delay (`nodejs_eventloop_lag_*`).
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'personas_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'personas_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route template and method',
      labelNames: ['route', 'method'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    chatTurns: new Counter({
      name: 'personas_chat_turns_total',
      help: 'Language-model calls of chats (persona and /v1 routes), by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    }),
    modelDuration: new Histogram({
      name: 'personas_model_call_duration_seconds',
      help: 'Time a language-model call took, by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    retrievalDuration: new Histogram({
      name: 'personas_retrieval_duration_seconds',
      help: 'Time to retrieve passages, by mode (vector, lexical, hybrid)',
      labelNames: ['mode'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ingestions: new Counter({
      name: 'personas_ingestions_total',
      help: 'Documents ingested (chunked, embedded, stored and indexed), by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    ingestionDuration: new Histogram({
      name: 'personas_ingestion_duration_seconds',
      help: 'Time to ingest one document, by outcome',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    /**
     * Index sizes per collection, and how far this process's indexes are behind the change log
     * (replication lag), read at scrape time. Collection ids as labels: one series per collection,
     * bounded by the collections that exist.
     */
    watchIndexes(
      sizes: () => { collectionId: string; vectors: number; lexical: number }[],
      lag: () => Promise<{ changes: number; seconds: number } | null>,
    ) {
      new Gauge({
        name: 'personas_index_entries',
        help: 'Entries in each collection index, by kind (vector, lexical)',
        labelNames: ['collection', 'kind'] as const,
        registers,
        collect() {
          this.reset();
          for (const s of sizes()) {
            this.set({ collection: s.collectionId, kind: 'vector' }, s.vectors);
            this.set({ collection: s.collectionId, kind: 'lexical' }, s.lexical);
          }
        },
      });
      const lagNow = async () => lag().catch(() => null);
      new Gauge({
        name: 'personas_replication_lag_changes',
        help: 'Changes in the chunk change log this process has not applied yet',
        registers,
        async collect() {
          const now = await lagNow();
          if (now) this.set(now.changes);
        },
      });
      new Gauge({
        name: 'personas_replication_lag_seconds',
        help: "How far behind, in seconds, this process's indexes are (0 when caught up)",
        registers,
        async collect() {
          const now = await lagNow();
          if (now) this.set(now.seconds);
        },
      });
    },
    /** Reads a pg pool's counts at scrape time; nothing is exported on PGlite. */
    watchPool(stats: () => PoolStats | null) {
      new Gauge({
        name: 'personas_db_pool_connections',
        help: 'Database pool connections by state (Postgres only)',
        labelNames: ['state'] as const,
        registers,
        collect() {
          const pool = stats();
          if (!pool) return;
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
          this.set({ state: 'waiting' }, pool.waitingCount);
        },
      });
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** How a timed call ended, as the outcome label says it. */
export type Outcome = 'ok' | 'error' | 'aborted';

/** Times `run` into `histogram` and counts it in `counter`, labelled with how it ended. */
export async function timed<T>(
  observe: (outcome: Outcome, seconds: number) => void,
  run: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    const result = await run();
    observe('ok', (performance.now() - start) / 1000);
    return result;
  } catch (error) {
    observe('error', (performance.now() - start) / 1000);
    throw error;
  }
}
