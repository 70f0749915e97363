import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

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
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    EMBEDDINGS_PROVIDER: z.enum(['offline', 'huggingface']).default('offline'),
    LLM_PROVIDER: z.enum(['offline', 'huggingface']).default('offline'),
    DEFAULT_MODEL: z.string().min(1).default('offline'),
    REGISTRATION: z.enum(['open', 'closed']).default('open'),
    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').max(256).optional(),
    SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(10),
    LOGIN_WINDOW_MINUTES: z.coerce.number().int().min(1).default(15),
  })
  .refine((e) => Boolean(e.ADMIN_EMAIL) === Boolean(e.ADMIN_PASSWORD), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  });

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** A postgres:// URL, or null for the embedded PGlite database under `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  embeddingsProvider: 'offline' | 'huggingface';
  llmProvider: 'offline' | 'huggingface';
  defaultModel: string;
  registration: 'open' | 'closed';
  /** Created as admin at start when absent, promoted when present. */
  adminBootstrap: { email: string; password: string } | null;
  sessionTtlDays: number;
  loginThrottle: { maxFailures: number; windowMs: number };
};

/** Thrown with every bad variable named, so a misconfigured server fails at once and clearly. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The one place that reads the environment. Loads `.env` from the working directory when present.
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
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    embeddingsProvider: e.EMBEDDINGS_PROVIDER,
    llmProvider: e.LLM_PROVIDER,
    defaultModel: e.DEFAULT_MODEL,
    registration: e.REGISTRATION,
    adminBootstrap:
      e.ADMIN_EMAIL && e.ADMIN_PASSWORD
        ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD }
        : null,
    sessionTtlDays: e.SESSION_TTL_DAYS,
    loginThrottle: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      windowMs: e.LOGIN_WINDOW_MINUTES * 60_000,
    },
  };
}

function readProcessEnv(): Record<string, string | undefined> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
