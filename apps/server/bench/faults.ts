/**
 * npm run bench:faults — what failures cost. Round 1, Postgres outages: a real server process on
 * a throw-away cluster (initdb on a spare port under /tmp; never the shared server) is put under
 * REST upload and chat, tRPC and SSE load while Postgres is killed (`pg_ctl stop -m immediate`),
 * kept down a few seconds and started again, BENCH_ROUNDS times (default 3). Prints outages
 * survived / tried, 500s seen, requests answered 503, acknowledged writes lost (goal 0), and the
 * time from Postgres back to the first success. Round 2, hostile HTTP (`hostile-http.ts`): what
 * deep JSON, chunked oversize bodies, header floods, parallel login batches and slowloris sockets
 * are answered, and the process's RSS before and after them.
 *
 * Env: BENCH_ROUNDS (default 3), BENCH_SECONDS (outage length, default 3), BENCH_CONCURRENCY
 * (clients, default 4).
 */
import {
  OUTAGE_SERVER_ENV,
  type OutageRound,
  runOutageRound,
  setUpOutageFixtures,
} from '../../../test/support/outage-load';
import { startServerProcess } from '../../../test/support/server-process';
import {
  startThrowawayPostgres,
  throwawayPostgresUnavailable,
} from '../../../test/support/throwaway-postgres';
import { readBenchEnv } from './bench-env';
import { hostileHttpRound } from './hostile-http';

const env = readBenchEnv();
const rounds = env.BENCH_ROUNDS ?? 3;
const outageMs = (env.BENCH_SECONDS ?? 3) * 1000;
const clients = env.BENCH_CONCURRENCY ?? 4;

async function postgresOutages(): Promise<void> {
  const unavailable = throwawayPostgresUnavailable();
  if (unavailable) {
    console.log(`Postgres outages: skipped (${unavailable})`);
    return;
  }
  await using cluster = await startThrowawayPostgres();
  await using server = await startServerProcess({
    ...OUTAGE_SERVER_ENV,
    DATABASE_URL: cluster.url,
  });
  const fixtures = await setUpOutageFixtures(server.url);
  const results: OutageRound[] = [];
  let survived = 0;
  for (let i = 0; i < rounds; i += 1) {
    const round = await runOutageRound(server.url, cluster, fixtures, { clients, outageMs });
    results.push(round);
    const alive = server.child.exitCode === null;
    if (alive && round.recoveryMs !== null) survived += 1;
    console.log(
      `  outage ${i + 1}: ${round.requests} requests ${JSON.stringify(round.byStatus)}, ` +
        `back in ${round.recoveryMs ?? '—'} ms, ${round.lostWrites.length} of ` +
        `${round.acknowledgedWrites} acknowledged writes lost`,
    );
    if (!alive) break;
  }
  const sum = (pick: (r: OutageRound) => number) => results.reduce((n, r) => n + pick(r), 0);
  const recoveries = results.flatMap((r) => (r.recoveryMs === null ? [] : [r.recoveryMs]));
  console.log(`Postgres outages (${outageMs / 1000} s each, ${clients} clients):`);
  console.log(`  outages survived / tried:        ${survived} / ${rounds}`);
  console.log(`  500s seen:                       ${sum((r) => r.internalErrors.length)}`);
  console.log(
    `  requests answered 503:           ${sum((r) => r.answered503)} (without Retry-After: ${sum((r) => r.missing503RetryAfter)})`,
  );
  console.log(
    `  acknowledged writes lost:        ${sum((r) => r.lostWrites.length)} of ${sum((r) => r.acknowledgedWrites)}`,
  );
  console.log(
    `  Postgres back → first success:   ${recoveries.length ? `${Math.min(...recoveries)}–${Math.max(...recoveries)} ms` : '—'}`,
  );
}

await postgresOutages();
await hostileHttpRound();
