import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROVIDERS_OR_POLICIES } from '@huggingface/inference';
import { z } from 'zod';
import { trustProxySchema } from './http/trust-proxy';
import { InvalidAllowListEntry, parseAllowList } from './ingestion/url-fetch/allow-list';

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional()
      .describe('absent → embedded PGlite in DATA_DIR'),
    DATA_DIR: z.string().min(1).default('./data'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(2 * 1024 * 1024),
    // Slow or stalled clients (slowloris) are cut off: the headers, the whole request, an idle
    // socket, and a kept-alive connection between requests each have a bound.
    HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
    CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
    // Kubernetes' default grace period: at a million chunks, writing the indexes back takes ~10 s.
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    EMBEDDINGS_PROVIDER: z.enum(['offline', 'huggingface']).default('offline'),
    LLM_PROVIDER: z.enum(['offline', 'huggingface']).default('offline'),
    DEFAULT_MODEL: z.string().min(1).default('offline'),
    DOCUMENT_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    CHUNK_SIZE: z.coerce.number().int().min(100).max(20_000).default(800),
    CHUNK_OVERLAP: z.coerce.number().int().min(0).max(5_000).default(100),
    HF_TOKEN: z.string().min(1).optional(),
    HF_PROVIDER: z.enum(PROVIDERS_OR_POLICIES).optional(),
    HF_ENDPOINT_URL: z.url().optional().describe('OpenAI-compatible server for the language model'),
    HF_EMBEDDING_MODEL: z.string().min(1).default('sentence-transformers/all-MiniLM-L6-v2'),
    HF_EMBEDDING_URL: z.url().optional().describe('feature-extraction endpoint for embeddings'),
    HF_EMBEDDING_DIMENSIONS: z.coerce.number().int().positive().default(384),
    MODEL_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
    CHAT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30),
    CHAT_HISTORY_BUDGET_TOKENS: z.coerce.number().int().min(256).default(3000),
    USER_DAILY_TOKEN_LIMIT: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe('absent → no limit; an admin may set one per user'),
    SLOW_REQUEST_MS: z.coerce.number().int().min(1).default(1000),
    METRICS_TOKEN: z
      .string()
      .min(16, 'must be at least 16 characters')
      .optional()
      .describe('absent → /metrics is open'),
    USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),
    REGISTRATION: z.enum(['open', 'closed']).default('open'),
    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').max(256).optional(),
    SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(10),
    LOGIN_WINDOW_MINUTES: z.coerce.number().int().min(1).default(15),
    // Per client address, on top of the per-email limit: one address spraying passwords over many
    // emails, or creating accounts in bulk, is refused too.
    LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
    REGISTER_MAX_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
    TRUST_PROXY: trustProxySchema.describe('false → the socket address is the client address'),
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .refine((origins) => origins.every(isOrigin), {
        message: 'must be a comma list of origins, each scheme://host[:port] with no path',
      })
      .describe('empty → no cross-origin access'),
    IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(24),
    // Each process's indexes follow the change log in Postgres: woken by NOTIFY, and checked this
    // often anyway (a missed notification, a silently dead connection).
    INDEX_SYNC_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
    // Index files are checkpoints of the log: written after this many changed chunks, or this
    // long after their first unsaved change (0: only at shutdown and by count).
    INDEX_CHECKPOINT_CHANGES: z.coerce.number().int().min(1).default(10_000),
    INDEX_CHECKPOINT_SECONDS: z.coerce.number().int().min(0).default(300),
    // Log rows older than this are deleted (0: never); a checkpoint older than the trimmed part of
    // the log is checked against the table at the next start, and rebuilt if it differs.
    CHANGE_LOG_RETENTION_HOURS: z.coerce.number().int().min(0).default(168),
    // A start loads the indexes while it already listens; a search meanwhile waits this long for
    // them, then answers 503 with Retry-After.
    INDEX_READY_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(3000),
    // Document ingestion jobs: how many this process runs at once, and how long a claim holds
    // without renewal before another process may take the job over (a crashed holder's).
    INGESTION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    INGESTION_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(30),
    // Claims of one job before it is given up as `failed` (a file that kills its process).
    INGESTION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
    // Extraction caps: a PDF's pages, a DOCX's uncompressed total and zip entries.
    MAX_PDF_PAGES: z.coerce.number().int().min(1).default(2000),
    MAX_DOCUMENT_EXPANDED_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(200 * 1024 * 1024),
    MAX_ARCHIVE_ENTRIES: z.coerce.number().int().min(1).default(10_000),
    // URL uploads: hosts, addresses or CIDRs allowed despite the address rules (an intranet, a
    // test's loopback server), and the whole fetch's time bound.
    URL_FETCH_ALLOW_HOSTS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      )
      .superRefine((hosts, ctx) => {
        try {
          parseAllowList(hosts);
        } catch (error) {
          if (!(error instanceof InvalidAllowListEntry)) throw error;
          ctx.addIssue({ code: 'custom', message: error.message });
        }
      }),
    URL_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    // Extraction (PDF, DOCX, HTML, large text) runs in worker threads off the event loop: how many,
    // and how far the process's memory may grow while they work before a file is `too_large`.
    EXTRACTION_WORKERS: z.coerce.number().int().min(1).max(16).default(1),
    EXTRACTION_MEMORY_MB: z.coerce.number().int().min(64).default(1024),
  })
  .refine((e) => Boolean(e.ADMIN_EMAIL) === Boolean(e.ADMIN_PASSWORD), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  })
  // The shape the code reads, grouped and named for it: `Config` is inferred from this.
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    /** A postgres:// URL, or null for the embedded PGlite database under `dataDir`. */
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    timeouts: {
      // Node requires the headers' bound to be within the whole request's.
      headersMs: Math.min(e.HEADERS_TIMEOUT_MS, e.REQUEST_TIMEOUT_MS),
      requestMs: e.REQUEST_TIMEOUT_MS,
      connectionMs: e.CONNECTION_TIMEOUT_MS,
      keepAliveMs: e.KEEP_ALIVE_TIMEOUT_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    embeddingsProvider: e.EMBEDDINGS_PROVIDER,
    llmProvider: e.LLM_PROVIDER,
    defaultModel: e.DEFAULT_MODEL,
    registration: e.REGISTRATION,
    documentLimitBytes: e.DOCUMENT_LIMIT_BYTES,
    chunkSize: e.CHUNK_SIZE,
    chunkOverlap: Math.min(e.CHUNK_OVERLAP, Math.floor(e.CHUNK_SIZE / 2)),
    huggingFace: {
      token: e.HF_TOKEN ?? null,
      provider: e.HF_PROVIDER ?? null,
      endpointUrl: e.HF_ENDPOINT_URL ?? null,
      embeddingModel: e.HF_EMBEDDING_MODEL,
      embeddingUrl: e.HF_EMBEDDING_URL ?? null,
      embeddingDimensions: e.HF_EMBEDDING_DIMENSIONS,
    },
    modelTimeoutMs: e.MODEL_TIMEOUT_MS,
    chatRateLimitPerMinute: e.CHAT_RATE_LIMIT_PER_MINUTE,
    chatHistoryBudgetTokens: e.CHAT_HISTORY_BUDGET_TOKENS,
    /** Tokens a user's chats may use per UTC day unless an admin set their own; null: no limit. */
    userDailyTokenLimit: e.USER_DAILY_TOKEN_LIMIT ?? null,
    /** Requests slower than this are logged at info (the rest, unless they fail, at debug). */
    slowRequestMs: e.SLOW_REQUEST_MS,
    /** The Bearer token `/metrics` asks for; null: open to whoever reaches it. */
    metricsToken: e.METRICS_TOKEN ?? null,
    /** Usage records and audit events older than these are deleted. */
    retention: {
      usageMs: e.USAGE_RETENTION_DAYS * 86_400_000,
      auditMs: e.AUDIT_RETENTION_DAYS * 86_400_000,
    },
    /** Created as admin at start when absent, promoted when present. */
    adminBootstrap:
      e.ADMIN_EMAIL && e.ADMIN_PASSWORD
        ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD }
        : null,
    sessionTtlDays: e.SESSION_TTL_DAYS,
    /** How long an `Idempotency-Key` and its kept answer live; older rows are deleted. */
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_HOURS * 3_600_000,
    loginThrottle: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowMs: e.LOGIN_WINDOW_MINUTES * 60_000,
    },
    registrationThrottle: {
      maxPerAddress: e.REGISTER_MAX_PER_ADDRESS,
      windowMs: 3_600_000,
    },
    /** Whose `X-Forwarded-For` names the client address (the throttles' key), if anyone's. */
    trustProxy: e.TRUST_PROXY,
    indexes: {
      syncIntervalMs: e.INDEX_SYNC_INTERVAL_MS,
      checkpointChanges: e.INDEX_CHECKPOINT_CHANGES,
      checkpointIntervalMs:
        e.INDEX_CHECKPOINT_SECONDS === 0 ? null : e.INDEX_CHECKPOINT_SECONDS * 1000,
      changeLogRetentionMs:
        e.CHANGE_LOG_RETENTION_HOURS === 0 ? null : e.CHANGE_LOG_RETENTION_HOURS * 3_600_000,
      readyWaitMs: e.INDEX_READY_WAIT_MS,
    },
    ingestion: {
      concurrency: e.INGESTION_CONCURRENCY,
      leaseMs: e.INGESTION_LEASE_SECONDS * 1000,
      maxAttempts: e.INGESTION_MAX_ATTEMPTS,
      extraction: {
        maxPdfPages: e.MAX_PDF_PAGES,
        maxExpandedBytes: e.MAX_DOCUMENT_EXPANDED_BYTES,
        maxArchiveEntries: e.MAX_ARCHIVE_ENTRIES,
        chunkSize: e.CHUNK_SIZE,
        chunkOverlap: Math.min(e.CHUNK_OVERLAP, Math.floor(e.CHUNK_SIZE / 2)),
      },
      workers: { size: e.EXTRACTION_WORKERS, memoryMb: e.EXTRACTION_MEMORY_MB },
      urlFetch: {
        allowHosts: e.URL_FETCH_ALLOW_HOSTS,
        timeoutMs: e.URL_FETCH_TIMEOUT_MS,
        maxBytes: e.DOCUMENT_LIMIT_BYTES,
      },
    },
    /** Browser origins allowed to call the API cross-origin, exactly as browsers send them. */
    corsOrigins: e.CORS_ORIGINS,
  }));

/** An origin as a browser sends it in `Origin`: `https://app.example.com`, no path or slash. */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/** The server's configuration: the environment, validated and shaped by `envSchema`. */
export type Config = z.output<typeof envSchema>;

/** Thrown with every bad variable named, so a misconfigured server fails at once and clearly. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The server's configuration, from the environment (and `.env`) unless `env` is given.
 *
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Record<string, string | undefined> = readProcessEnv()): Config {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * The process environment, with `.env` from the working directory loaded into it when present:
 * the only read of `process.env` (Biome's `noProcessEnv` is off for this file alone, and for
 * test harness code). Scripts with knobs of their own (the benches) parse what this returns.
 */
export function readProcessEnv(): Record<string, string | undefined> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
