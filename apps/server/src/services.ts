import { NotFoundError, type Services } from '@personas/contracts';
import { auditRepository } from './audit/repository';
import { createAuditService } from './audit/service';
import { createLoginThrottle } from './auth/login-throttle';
import { createRegistrationThrottle } from './auth/registration-throttle';
import { createAuthService } from './auth/service';
import { createRateLimiter } from './chat/rate-limiter';
import { createChatService } from './chat/service';
import { createCollectionsService, createOwnerCollectionsRemoval } from './collections/service';
import type { DatabaseKind, Db } from './db/connect';
import type { Config } from './env';
import type { Authenticate } from './http/context';
import { createIdempotencyService } from './idempotency/service';
import { ExtractionPool, extractDocument } from './ingestion/extraction';
import { startIngestionRunner } from './ingestion/jobs/job-runner';
import { JOBS_CHANNEL } from './ingestion/jobs/jobs-repository';
import { KeyedMutex } from './lib/keyed-mutex';
import { startRetention } from './lib/retention';
import type { Logger } from './logger';
import {
  instrumentIngestion,
  instrumentLanguageModel,
  instrumentRetriever,
} from './metrics/instrument';
import { createMetrics } from './metrics/metrics';
import { createPersonasService, findVisiblePersona } from './personas/service';
import { createEmbedder, createLanguageModel } from './providers';
import { listenForChanges } from './retrieval/change-log/change-listener';
import { openChunkIndexes } from './retrieval/chunk-indexes';
import { loadChunkIndexesInBackground } from './retrieval/loading-indexes';
import { createRetriever } from './retrieval/retriever';
import { createSystemService } from './system/service';
import { createQuota } from './usage/quota';
import { usageRepository } from './usage/repository';
import { createUsageService } from './usage/service';
import { createUsersService } from './users/service';

/**
 * Hybrid retrieval is the default: on SciFact it keeps BM25's quality (nDCG@10 0.68) where the
 * offline embedder alone reaches 0.37, and finds exact terms (codes, names) vectors miss.
 */
const DEFAULT_RAG_MODE = 'hybrid' as const;

/** Every service behind the ports, wired to one database, one embedder and one language model. */
export async function createServices(
  db: Db,
  kind: DatabaseKind,
  config: Config & { clock?: () => Date },
  logger: Logger,
) {
  const metrics = createMetrics();
  const embedder = createEmbedder(config);
  const llm = instrumentLanguageModel(createLanguageModel(config), metrics);
  const { databaseUrl } = config;
  // Loaded in the background: the process listens (and `/healthz` answers) while they load.
  const indexes = loadChunkIndexesInBackground(
    (signal) =>
      openChunkIndexes(db, config.dataDir, logger, {
        // Postgres wakes every process at each commit; PGlite is one process, its own writes are
        // applied as they commit, and the periodic check is all it needs.
        listen: databaseUrl ? (wake) => listenForChanges(databaseUrl, wake, logger) : undefined,
        syncIntervalMs: config.indexes.syncIntervalMs,
        checkpointChanges: config.indexes.checkpointChanges,
        checkpointIntervalMs: config.indexes.checkpointIntervalMs,
        logRetentionMs: config.indexes.changeLogRetentionMs,
        // Draining requests and closing the rest come out of the same budget: leave them a third.
        closeBudgetMs: (config.shutdownTimeoutMs * 2) / 3,
        signal,
      }),
    logger,
    { readyWaitMs: config.indexes.readyWaitMs },
  );
  const retrieve = instrumentRetriever(createRetriever(db, embedder, indexes), metrics);
  metrics.watchIndexes(
    () => indexes.sizes(),
    () => indexes.lag(),
  );
  const now = config.clock ?? (() => new Date());
  const quota = createQuota(db, { defaultDailyLimit: config.userDailyTokenLimit, now });
  const auth = createAuthService(
    db,
    {
      login: createLoginThrottle(db, config.loginThrottle),
      registration: createRegistrationThrottle(db, config.registrationThrottle),
    },
    {
      ...config,
      quota,
      isPersonaVisible: (actor, personaId) =>
        findVisiblePersona(db, actor, personaId).then(
          () => true,
          (error: unknown) => (error instanceof NotFoundError ? false : Promise.reject(error)),
        ),
    },
  );
  // Every process runs ingestion jobs: woken by its own uploads, by other processes' (NOTIFY on
  // Postgres), and by a periodic poll.
  // This app's extraction workers (not the module's shared pool): closed with the app.
  const extraction = new ExtractionPool(config.ingestion.workers);
  const jobs = startIngestionRunner(db, {
    extract: (input, limits, opts) => extractDocument(input, limits, { ...opts, pool: extraction }),
    embedder,
    indexes,
    extraction: config.ingestion.extraction,
    urlFetch: config.ingestion.urlFetch,
    concurrency: config.ingestion.concurrency,
    leaseMs: config.ingestion.leaseMs,
    maxAttempts: config.ingestion.maxAttempts,
    reclaimAtStart: kind === 'pglite',
    listen: databaseUrl
      ? (wake) => listenForChanges(databaseUrl, wake, logger, JOBS_CHANNEL)
      : undefined,
    logger,
  });
  // One lock per collection for everything that changes it: ingestion, and the deletion of the
  // collection or of its owner.
  const collectionLock = new KeyedMutex();

  const services: Services = {
    idempotency: createIdempotencyService(db, { ttlMs: config.idempotencyTtlMs }),
    system: createSystemService(config, kind),
    auth,
    users: createUsersService(db, {
      removeWithCollections: createOwnerCollectionsRemoval(db, { collectionLock, indexes }),
    }),
    personas: createPersonasService(db, {
      defaultModel: config.defaultModel,
      defaultRagMode: DEFAULT_RAG_MODE,
    }),
    collections: instrumentIngestion(
      createCollectionsService(db, {
        embedder,
        indexes,
        retrieve,
        documentLimitBytes: config.documentLimitBytes,
        defaultRagMode: DEFAULT_RAG_MODE,
        jobs,
        urlFetch: config.ingestion.urlFetch,
        collectionLock,
      }),
      metrics,
    ),
    chat: createChatService(db, {
      findVisiblePersona: (actor, personaId) => findVisiblePersona(db, actor, personaId),
      llm,
      retrieve,
      embeddingModel: embedder.model,
      historyBudgetTokens: config.chatHistoryBudgetTokens,
      takeRateLimit: createRateLimiter(db, {
        limit: config.chatRateLimitPerMinute,
        windowMs: 60_000,
      }),
      quota,
    }),
    usage: createUsageService(db, { now }),
    audit: createAuditService(db),
  };
  const retention = startRetention(
    {
      usage: () => usageRepository.trimOlderThan(db, config.retention.usageMs, now()),
      audit: () => auditRepository.trimOlderThan(db, config.retention.auditMs),
    },
    logger,
  );
  const authenticate: Authenticate = (token) => auth.authenticate(token);
  const close = async () => {
    retention.stop();
    // Jobs stop first (handed back, queued for any process) while the indexes and database are
    // still open.
    await jobs.close();
    await extraction.close();
    await indexes.close();
  };
  return { services, authenticate, indexes, metrics, close };
}
