import { Worker } from 'node:worker_threads';
import { unpackDocument } from './chunk-packing';
import {
  type ExtractedDocument,
  ExtractionError,
  type ExtractionLimits,
  type SourceFormat,
} from './types';
import type { ExtractionReply, ExtractionRequest, WorkerReady } from './worker-protocol';

export interface ExtractionPoolOptions {
  /** Worker threads extracting at once. Default 1: extraction is CPU-bound, chat must keep a core. */
  size?: number;
  /**
   * Requests that may wait for a worker (each holds its file in memory); one more is refused with
   * `ExtractionQueueFull`. Default 16.
   */
  maxQueue?: number;
  /** Heap cap of each worker (V8 old generation); a worker that runs out is `too_large`. Default 512. */
  heapMb?: number;
  /** A file still extracting after this long is `too_large` and its worker replaced. Default 300 s. */
  timeoutMs?: number;
  /**
   * How much the process's resident memory may grow while workers extract before the busy ones
   * are stopped (`too_large`). `heapMb` caps only the JS heap: parsers' ArrayBuffers live outside
   * it (pdf.js inflating a 0.5 MB PDF's content stream took 1.5 GB here), and they belong to the
   * whole process. Default 1,024.
   */
  memoryMb?: number;
  /** The worker's module (tests substitute one that crashes). Default `./worker.ts`. */
  workerUrl?: URL;
}

/** The queue of an extraction pool is full: not the file's fault, try again later. */
export class ExtractionQueueFull extends Error {
  override name = 'ExtractionQueueFull';
  constructor(readonly maxQueue: number) {
    super(`${maxQueue} files are already waiting for extraction`);
  }
}

/**
 * A worker died before it could take work (its modules failed to load): a fault of the
 * installation, not of the file, so it must not fail the document for good.
 */
export class ExtractionWorkerFailed extends Error {
  override name = 'ExtractionWorkerFailed';
  constructor(cause: unknown) {
    super('The extraction worker failed to start', { cause });
  }
}

/** The pool was closed (the process is shutting down): not the file's fault either. */
export class ExtractionPoolClosed extends Error {
  override name = 'ExtractionPoolClosed';
  constructor() {
    super('The extraction pool is closed');
  }
}

interface Task {
  id: number;
  bytes: Uint8Array;
  format: SourceFormat;
  limits: ExtractionLimits;
  declaredType?: string;
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve: (doc: ExtractedDocument) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its modules (said `ready`). */
  ready: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | null;
}

/** Node's code for a worker stopped by its `resourceLimits`. */
const OUT_OF_MEMORY = 'ERR_WORKER_OUT_OF_MEMORY';

/**
 * A small pool of extraction worker threads, so parsing a 300-page PDF or chunking a 4 MB
 * Markdown file never stalls the main thread's event loop (chat requests, health checks).
 * Workers start on first use and are replaced when they die: out of memory (`resourceLimits`)
 * → `too_large`, any other crash → `corrupt`, past `timeoutMs` → `too_large`. Idle workers are
 * unref'd, so a pool nobody closed does not keep the process alive; `close()` ends them.
 *
 * Memory: `resourceLimits` bound a worker's heap, but Node stops a worker at that limit only on a
 * best effort (one huge allocation can abort the whole process: nodejs/node#47224) and never
 * counts ArrayBuffers. So while any worker is busy a watchdog on this thread samples the process's
 * RSS every 50 ms and stops the busy workers when it has grown by more than `memoryMb` since work
 * began (`worker.terminate()` interrupts even a synchronous loop). With more than one worker it
 * cannot tell whose memory it is and stops them all: size 1, the default, makes it exact.
 *
 * Workers load `worker.ts` through `worker-entry.mjs`, which registers tsx inside the thread: a
 * worker inherits neither the parent's `--import tsx` nor vitest's transform, and Node 20 ignores
 * `--import` in a worker's `execArgv`.
 */
export class ExtractionPool {
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly heapMb: number;
  private readonly timeoutMs: number;
  private readonly workerUrl: URL;
  private readonly memoryBytes: number;
  private readonly slots: Slot[] = [];
  private watchdog: NodeJS.Timeout | null = null;
  private baselineRss = 0;
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: ExtractionPoolOptions = {}) {
    this.size = opts.size ?? 1;
    this.maxQueue = opts.maxQueue ?? 16;
    this.heapMb = opts.heapMb ?? 512;
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.workerUrl = opts.workerUrl ?? new URL('./worker.ts', import.meta.url);
    this.memoryBytes = (opts.memoryMb ?? 1024) * 1024 * 1024;
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new RangeError(`size must be a positive integer, got ${this.size}`);
    }
  }

  /** Extracts and chunks `bytes` (already sniffed as `format`) in a worker thread. */
  run(
    bytes: Uint8Array,
    format: SourceFormat,
    limits: ExtractionLimits,
    opts: { signal?: AbortSignal; declaredType?: string } = {},
  ): Promise<ExtractedDocument> {
    const { signal, declaredType } = opts;
    if (this.closed) return Promise.reject(new ExtractionPoolClosed());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const busy = this.slots.filter((s) => s.task !== null).length;
    if (busy >= this.size && this.queue.length >= this.maxQueue) {
      return Promise.reject(new ExtractionQueueFull(this.maxQueue));
    }
    return new Promise<ExtractedDocument>((resolve, reject) => {
      const task: Task = {
        id: this.nextId++,
        bytes,
        format,
        limits,
        declaredType,
        signal,
        resolve,
        reject,
      };
      if (signal) {
        task.onAbort = () => this.abort(task, signal.reason);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** Ends every worker; queued and running requests reject with `ExtractionPoolClosed`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) this.settle(task, new ExtractionPoolClosed());
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (slot) => {
        const task = slot.task;
        this.finish(slot);
        if (task) this.settle(task, new ExtractionPoolClosed());
        await slot.worker.terminate();
      }),
    );
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      this.startWatchdog();
      slot.timer = setTimeout(() => {
        this.replace(
          slot!,
          new ExtractionError('too_large', `Extraction took longer than ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      slot.timer.unref();
      const request: ExtractionRequest = {
        id: task.id,
        bytes: task.bytes,
        format: task.format,
        limits: task.limits,
        declaredType: task.declaredType,
      };
      slot.worker.postMessage(request);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
      workerData: { entry: this.workerUrl.href },
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb },
    });
    worker.unref();
    const slot: Slot = { worker, ready: false, task: null, timer: null };
    let failure: Error | null = null;
    worker.on('message', (reply: ExtractionReply | WorkerReady) => {
      if ('ready' in reply) {
        slot.ready = true;
        return;
      }
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      this.finish(slot);
      if (reply.ok) this.settle(task, null, unpackDocument(reply.document));
      else this.settle(task, new ExtractionError(reply.code, reply.detail));
      this.dispatch();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      failure = !slot.ready
        ? new ExtractionWorkerFailed(err)
        : err.code === OUT_OF_MEMORY
          ? new ExtractionError('too_large', 'The file needs more memory than extraction may use')
          : new ExtractionError('corrupt', `Extraction crashed (${err.message})`);
    });
    worker.on('exit', (code) => {
      const index = this.slots.indexOf(slot);
      if (index === -1) return; // replaced or closed: already settled
      this.slots.splice(index, 1);
      const task = slot.task;
      this.finish(slot);
      if (task) {
        this.settle(
          task,
          failure ??
            (slot.ready
              ? new ExtractionError('corrupt', `Extraction stopped (exit code ${code})`)
              : new ExtractionWorkerFailed(`exit code ${code}`)),
        );
      }
      this.dispatch();
    });
    this.slots.push(slot);
    return slot;
  }

  /** Ends a slot's worker (a timeout, an abort) and fails its task; a new worker takes its place. */
  private replace(slot: Slot, err: unknown): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    const task = slot.task;
    this.finish(slot);
    if (task) this.settle(task, err);
    // The next file starts once the old worker's memory is gone, so the watchdog's new baseline
    // does not include it.
    void slot.worker.terminate().finally(() => this.dispatch());
  }

  private abort(task: Task, reason: unknown): void {
    const queued = this.queue.indexOf(task);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      this.settle(task, reason);
      return;
    }
    const slot = this.slots.find((s) => s.task === task);
    if (slot) this.replace(slot, reason);
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.task = null;
    slot.worker.unref();
    if (this.watchdog && this.slots.every((s) => s.task === null)) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    this.baselineRss = process.memoryUsage.rss();
    this.watchdog = setInterval(() => {
      if (process.memoryUsage.rss() - this.baselineRss <= this.memoryBytes) return;
      const limit = Math.round(this.memoryBytes / 1024 / 1024);
      for (const slot of this.slots.filter((s) => s.task !== null)) {
        this.replace(
          slot,
          new ExtractionError('too_large', `Extraction needed more than ${limit} MB of memory`),
        );
      }
    }, 50);
    this.watchdog.unref();
  }

  private settle(task: Task, err: unknown, doc?: ExtractedDocument): void {
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    if (err) task.reject(err);
    else task.resolve(doc!);
  }
}
