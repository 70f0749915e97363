/**
 * npm run bench:http — requests/s and p99 of one database-backed read (`auth.me`: session lookup
 * and user read) through REST, through tRPC, and through a bare Fastify route doing the same
 * queries, all measured in one run and printed as ratios to the bare route.
 *
 * Env: BENCH_SECONDS (per round, default 3), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY (16),
 * BENCH_DATABASE_URL (default: in-memory PGlite).
 */
import Fastify from 'fastify';
import { bearerToken } from '../src/http/context';
import { toUserDto } from '../src/users/dto';
import { usersRepository } from '../src/users/repository';
import { startBenchApp } from './bench-app';
import { readBenchEnv } from './bench-env';
import { percentile, runLoad } from './load';

const knobs = readBenchEnv();
const seconds = knobs.BENCH_SECONDS ?? 3;
const rounds = knobs.BENCH_ROUNDS ?? 3;
const concurrency = knobs.BENCH_CONCURRENCY ?? 16;

await using bench = await startBenchApp('user');
const { app } = bench;

// The baseline: the same queries (authenticate the token, read the user) behind a bare route.
const bare = Fastify({ logger: false });
bare.get('/me', async (request, reply) => {
  const token = bearerToken(request.headers);
  const user = token ? await app.authenticate(token) : null;
  if (!user) return reply.code(401).send({ detail: 'unauthorized' });
  const row = await usersRepository.findById(app.db, user.id);
  return row ? toUserDto(row) : reply.code(401).send({ detail: 'unauthorized' });
});
const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

const targets = {
  'bare fastify': `${bareUrl}/me`,
  rest: `${bench.url}/api/auth/me`,
  trpc: `${bench.url}/trpc/auth.me`,
} as const;
type Target = keyof typeof targets;
const headers = { authorization: `Bearer ${bench.token}` };

// Warm up every path (JIT, connection pools) before measuring.
for (const url of Object.values(targets)) {
  await runLoad({ url, headers, concurrency, durationMs: 500 });
}

const samples: Record<Target, { rps: number; p50: number; p99: number; errors: number }[]> = {
  'bare fastify': [],
  rest: [],
  trpc: [],
};
// Rounds interleave the targets so drift on a noisy machine hits all three alike.
for (let round = 0; round < rounds; round++) {
  for (const [name, url] of Object.entries(targets) as [Target, string][]) {
    const r = await runLoad({ url, headers, concurrency, durationMs: seconds * 1000 });
    const sorted = r.latenciesMs.sort((a, b) => a - b);
    samples[name].push({
      rps: r.requests / r.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      errors: r.errors,
    });
  }
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = Object.fromEntries(
  (Object.keys(samples) as Target[]).map((name) => [
    name,
    {
      rps: median(samples[name].map((s) => s.rps)),
      p50: median(samples[name].map((s) => s.p50)),
      p99: median(samples[name].map((s) => s.p99)),
      errors: samples[name].reduce((n, s) => n + s.errors, 0),
    },
  ]),
) as Record<Target, { rps: number; p50: number; p99: number; errors: number }>;
const base = summary['bare fastify'];

console.log(
  `bench:http — GET auth.me (database-backed), ${bench.databaseKind}, concurrency ${concurrency}, ` +
    `${rounds} rounds × ${seconds}s per target, medians`,
);
console.log('target        req/s     p50 ms   p99 ms   req/s vs bare   p99 vs bare   errors');
for (const name of Object.keys(summary) as Target[]) {
  const s = summary[name];
  console.log(
    `${name.padEnd(12)} ${s.rps.toFixed(0).padStart(7)}  ${s.p50.toFixed(2).padStart(7)}  ${s.p99
      .toFixed(2)
      .padStart(7)}   ${(s.rps / base.rps).toFixed(2).padStart(13)}   ${(s.p99 / base.p99)
      .toFixed(2)
      .padStart(11)}   ${String(s.errors).padStart(6)}`,
  );
}

await bare.close();
