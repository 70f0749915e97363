/**
 * npm run bench:ingest — does a large document upload freeze the server? Uploads a ~4 MB Markdown
 * document through the REST route while a 1 ms timer measures how late the event loop runs it,
 * and prints the worst delays next to the same timer on the idle server (the baseline, same run).
 * Target: no single block over ~50 ms.
 *
 * Env: BENCH_MEGABYTES (default 4), BENCH_DATABASE_URL (default: in-memory PGlite).
 */
import { startBenchApp } from './bench-app';
import { readBenchEnv } from './bench-env';

const megabytes = readBenchEnv().BENCH_MEGABYTES ?? 4;

/** Runs `work` while a 1 ms interval records how long each tick actually took. */
async function loopDelays(work: () => Promise<unknown>): Promise<number[]> {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return gaps.sort((a, b) => b - a);
}

await using bench = await startBenchApp('builder', {
  DOCUMENT_LIMIT_BYTES: String((megabytes + 1) * 1024 * 1024),
});
const { url } = bench;
const headers = { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' };
await fetch(`${url}/api/collections`, {
  method: 'POST',
  headers,
  body: JSON.stringify({ name: 'big' }),
});

const paragraph =
  'The committee reviewed the proposal in detail and noted concerns about scope, budget and the delivery timeline. ';
let content = '';
for (let i = 0; content.length < megabytes * 1024 * 1024; i++) {
  content += `## Section ${i}\n\n${paragraph.repeat(5)}\n\n`;
}
const body = JSON.stringify({ file_name: 'big.md', content });

const idle = await loopDelays(() => new Promise((resolve) => setTimeout(resolve, 2000)));
let chunks = 0;
const started = performance.now();
const busy = await loopDelays(async () => {
  const res = await fetch(`${url}/api/collections/big/documents`, {
    method: 'POST',
    headers,
    body,
  });
  const answer = (await res.json()) as { chunks?: number };
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${JSON.stringify(answer)}`);
  chunks = answer.chunks ?? 0;
});
const seconds = (performance.now() - started) / 1000;

const fmt = (xs: number[]) =>
  xs
    .slice(0, 5)
    .map((x) => x.toFixed(1))
    .join(', ');
console.log(
  `bench:ingest — one ${(content.length / 1024 / 1024).toFixed(1)} MB Markdown document, ${chunks} chunks, ` +
    `${seconds.toFixed(1)} s through POST /api/collections/{name}/documents (${bench.databaseKind})`,
);
console.log(`event-loop tick, worst 5 (ms): idle  ${fmt(idle)}`);
console.log(`event-loop tick, worst 5 (ms): ingest ${fmt(busy)}`);
console.log(`worst ingest tick / worst idle tick: ${(busy[0]! / idle[0]!).toFixed(1)}×`);
console.log(`${busy[0]! <= 50 ? 'PASS' : 'FAIL'} worst block ${busy[0]!.toFixed(1)} ms ≤ ~50 ms`);
