/**
 * npm run bench:extraction — what extraction costs and whether it blocks the event loop: a
 * 100-page PDF and a 4 MB Markdown file through the worker pool (cold: first use starts the
 * worker; warm), the same Markdown in-thread for comparison, the worker round trip against
 * in-thread work for a 64 KiB file (the in-thread threshold), and the main thread's worst
 * event-loop delay (perf_hooks monitorEventLoopDelay) while each runs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { extractFormat } from '../src/ingestion/extraction/extract';
import { makeMultiPagePdf } from '../src/ingestion/extraction/fixtures/pdf';
import type { ExtractionLimits, SourceFormat } from '../src/ingestion/extraction/types';
import { ExtractionPool } from '../src/ingestion/extraction/worker-pool';

const limits: ExtractionLimits = {
  maxPdfPages: 2000,
  maxExpandedBytes: 100 * 1024 * 1024,
  maxArchiveEntries: 4096,
  chunkSize: 800,
  chunkOverlap: 100,
};

function markdown(bytes: number): Uint8Array {
  const section = (i: number) =>
    `## Section ${i}\n\n${'The archive keeps what the reader brings back to it, page after page. '.repeat(12)}\n\n`;
  let text = '# Book\n\n';
  for (let i = 0; text.length < bytes; i++) text += section(i);
  return new TextEncoder().encode(text);
}

async function measure(label: string, work: () => Promise<{ chunks: unknown[] }>): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The histogram counts from its first tick: let it tick before the work starts.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const start = performance.now();
  const doc = await work();
  const ms = performance.now() - start;
  // One more turn of the loop, so a block that just ended is recorded too.
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  console.log(
    `${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${String(doc.chunks.length).padStart(6)} chunks  worst loop delay ${(delay.max / 1e6).toFixed(0)} ms`,
  );
}

const pdf = await makeMultiPagePdf(100, 40);
const big = markdown(4 * 1024 * 1024);
const small = markdown(64 * 1024);
await using pool = new ExtractionPool();
const run = (bytes: Uint8Array, format: SourceFormat) => () => pool.run(bytes, format, limits);

await measure('idle baseline (200 ms timer)', async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { chunks: [] };
});
console.log(
  `PDF ${(pdf.length / 1024).toFixed(0)} KiB, 100 pages; Markdown ${(big.length / 1e6).toFixed(1)} MB`,
);
await measure('pdf 100 pages, worker (cold)', run(pdf, 'pdf'));
await measure('pdf 100 pages, worker (warm)', run(pdf, 'pdf'));
await measure('markdown 4 MB, worker', run(big, 'markdown'));
await measure('markdown 4 MB, in-thread', () => extractFormat(big, 'markdown', limits));
const tiny = markdown(8 * 1024);
for (const [label, bytes] of [
  ['64 KiB', small],
  ['8 KiB', tiny],
] as const) {
  for (let i = 0; i < 5; i++) {
    await pool.run(bytes, 'markdown', limits); // warm both paths
    await extractFormat(bytes, 'markdown', limits);
  }
  await measure(`markdown ${label}, worker`, run(bytes, 'markdown'));
  await measure(`markdown ${label}, in-thread`, () => extractFormat(bytes, 'markdown', limits));
}
