import { z } from 'zod';
import { readProcessEnv } from '../src/env';

const count = z.coerce.number().int().positive();
const amount = z.coerce.number().positive();

/** The benches' knobs. Each script documents the ones it reads and applies its own default. */
const benchEnvSchema = z.object({
  BENCH_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe('absent → an in-memory PGlite'),
  BENCH_SECONDS: amount.optional(),
  BENCH_ROUNDS: count.optional(),
  BENCH_CONCURRENCY: count.optional(),
  BENCH_CHUNKS: count.optional(),
  BENCH_MEGABYTES: amount.optional(),
  BENCH_VECTORS: count.optional(),
  BENCH_CLUSTERS: count.optional(),
  BENCH_SIGMA: amount.optional(),
});

export type BenchEnv = z.output<typeof benchEnvSchema>;

/**
 * The bench knobs from the environment, validated like the server's own configuration: a typo'd
 * number stops the bench with the variable named instead of measuring with NaN.
 *
 * @example const seconds = readBenchEnv().BENCH_SECONDS ?? 3
 */
export function readBenchEnv(env = readProcessEnv()): BenchEnv {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = benchEnvSchema.safeParse(blankAsUnset);
  if (!parsed.success) throw new Error(`Invalid bench settings:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
