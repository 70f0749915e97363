import { Worker } from 'node:worker_threads';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  concurrency: number;
  durationMs: number;
  method?: 'GET' | 'POST';
  /** A JSON body, sent as is with every request. */
  body?: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

/** Runs closed-loop load from a worker thread, so the client does not share the server's loop. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: opts });
    worker.once('message', (result: LoadResult) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
