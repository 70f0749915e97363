import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeFlateBombPdf } from './fixtures/pdf';
import type { ExtractionLimits } from './types';
import {
  ExtractionPool,
  ExtractionPoolClosed,
  ExtractionQueueFull,
  ExtractionWorkerFailed,
} from './worker-pool';

const LIMITS: ExtractionLimits = {
  maxPdfPages: 100,
  maxExpandedBytes: 1024 * 1024,
  maxArchiveEntries: 100,
  chunkSize: 800,
  chunkOverlap: 100,
};
const markdown = (words: number) => new TextEncoder().encode(`# Notes\n\n${'word '.repeat(words)}`);

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? err;
  }
}

describe('ExtractionPool', () => {
  it('turns a worker that runs out of memory into too_large', async () => {
    await using pool = new ExtractionPool({
      heapMb: 32,
      workerUrl: new URL('./fixtures/hungry-worker.ts', import.meta.url),
    });
    expect(await failure(pool.run(markdown(10), 'markdown', LIMITS))).toBe('too_large');
  }, 120_000);

  it('stops a worker whose parser buffers grow the process past memoryMb: too_large', async () => {
    const bomb = await makeFlateBombPdf(600 * 1024 * 1024); // about 0.6 MB on disk
    await using pool = new ExtractionPool({ memoryMb: 192 });
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    try {
      expect(await failure(pool.run(bomb, 'pdf', LIMITS))).toBe('too_large');
    } finally {
      clearInterval(sampler);
    }
    // The cap, plus the worker's own start (tsx, pdf.js) and one sampling period of growth.
    expect(peak - before).toBeLessThan(400 * 1024 * 1024);
  }, 120_000);

  it('tells a worker that cannot start from a file that crashes it', async () => {
    await using pool = new ExtractionPool({
      workerUrl: new URL('./fixtures/does-not-exist.ts', import.meta.url),
    });
    await expect(pool.run(markdown(10), 'markdown', LIMITS)).rejects.toBeInstanceOf(
      ExtractionWorkerFailed,
    );
  }, 120_000);

  it('turns any other crash of a worker into corrupt', async () => {
    await using pool = new ExtractionPool({
      workerUrl: new URL('./fixtures/crashing-worker.ts', import.meta.url),
    });
    expect(await failure(pool.run(markdown(10), 'markdown', LIMITS))).toBe('corrupt');
    // Its replacement is started for the next request (and crashes the same way).
    expect(await failure(pool.run(markdown(10), 'markdown', LIMITS))).toBe('corrupt');
  }, 120_000);

  it('says too_large for a file still extracting after timeoutMs', async () => {
    await using pool = new ExtractionPool({ timeoutMs: 1 });
    expect(await failure(pool.run(markdown(1_000_000), 'markdown', LIMITS))).toBe('too_large');
  }, 120_000);

  it('refuses work past its queue bound, and rejects what waits when closed', async () => {
    const pool = new ExtractionPool({ size: 1, maxQueue: 1 });
    const running = pool.run(markdown(50_000), 'markdown', LIMITS);
    const queued = pool.run(markdown(10), 'markdown', LIMITS);
    await expect(pool.run(markdown(10), 'markdown', LIMITS)).rejects.toBeInstanceOf(
      ExtractionQueueFull,
    );
    const settled = Promise.allSettled([running, queued]);
    await pool.close();
    for (const result of await settled) {
      expect(result.status === 'rejected' && result.reason).toBeInstanceOf(ExtractionPoolClosed);
    }
    await expect(pool.run(markdown(10), 'markdown', LIMITS)).rejects.toBeInstanceOf(
      ExtractionPoolClosed,
    );
  }, 120_000);

  it('cancels a running extraction when its signal aborts, and keeps serving', async () => {
    await using pool = new ExtractionPool();
    const controller = new AbortController();
    const running = pool.run(markdown(2_000_000), 'markdown', LIMITS, {
      signal: controller.signal,
    });
    const reason = new Error('document deleted');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect((await pool.run(markdown(10), 'markdown', LIMITS)).chunks).toHaveLength(1);
  }, 120_000);

  it('does not keep the process alive once idle, even never closed', async () => {
    const script = fileURLToPath(new URL('./fixtures/unclosed-pool.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(/^chunks \d+/);
  }, 120_000);
});
