// Plain JavaScript on purpose: a worker thread does not inherit the parent's `--import tsx`
// (Node 20 ignores it in a worker's execArgv too), so this file registers tsx and then loads the
// TypeScript worker named in workerData. Works the same under `node --import tsx` and vitest.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
