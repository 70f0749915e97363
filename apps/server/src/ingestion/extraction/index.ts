import { extractFormat } from './extract';
import { sniffFormat } from './sniff';
import {
  type ExtractedDocument,
  ExtractionError,
  type ExtractionInput,
  type ExtractionLimits,
} from './types';
import { ExtractionPool, type ExtractionPoolOptions } from './worker-pool';
import { isZipSignature } from './zip-directory';

export { sniffFormat } from './sniff';
export * from './types';
export {
  ExtractionPool,
  ExtractionPoolClosed,
  type ExtractionPoolOptions,
  ExtractionQueueFull,
  ExtractionWorkerFailed,
} from './worker-pool';

export interface ExtractOptions {
  /** The worker pool to use; the shared default pool (one worker) when absent. */
  pool?: ExtractionPool;
  /** Cancels a queued or running extraction (its worker is replaced); rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Text and Markdown up to this many bytes are chunked in-thread: below ~64 KiB that takes
   * under a millisecond or two, less than the round trip to a worker (structured clone both ways),
   * and a first small upload need not start a worker at all. Default 65,536.
   */
  inlineMaxBytes?: number;
}

const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;
const SNIFF_BYTES = 8192;

let defaultPool: ExtractionPool | null = null;
let defaultPoolOptions: ExtractionPoolOptions = {};

/** Settings of the shared pool (size, queue, heap cap), taken when it next starts. */
export function configureExtractionPool(opts: ExtractionPoolOptions): void {
  defaultPoolOptions = opts;
}

/** Ends the shared pool's workers (at shutdown); a later extraction starts a new pool. */
export async function closeExtractionPool(): Promise<void> {
  const pool = defaultPool;
  defaultPool = null;
  await pool?.close();
}

function sharedPool(): ExtractionPool {
  defaultPool ??= new ExtractionPool(defaultPoolOptions);
  return defaultPool;
}

/**
 * Extracts and chunks a file: PDF (text per page, chunks carry `page`), DOCX and HTML (through
 * Markdown, so headings become heading paths), Markdown and plain text. Parsing and chunking run
 * in a worker thread, off the event loop; only small text is done in-thread. Rejects with an
 * `ExtractionError` carrying the contract's code (`unsupported_format`, `encrypted`, `no_text`,
 * `corrupt`, `too_large`), or — not the file's fault, worth a retry — `ExtractionQueueFull` /
 * `ExtractionPoolClosed` / `ExtractionWorkerFailed`.
 *
 * @example
 * const doc = await extractDocument({ bytes, fileName: 'guide.pdf' }, limits);
 * doc.chunks[0] // → { index: 0, text: '…', headingPath: [], page: 1 }
 */
export async function extractDocument(
  input: ExtractionInput,
  limits: ExtractionLimits,
  opts: ExtractOptions = {},
): Promise<ExtractedDocument> {
  // A ZIP is sniffed whole, so a DOCX is judged by its central directory (found in the last
  // 64 KiB, cheap); anything else by its head, as the upload route does.
  const head = isZipSignature(input.bytes) ? input.bytes : input.bytes.subarray(0, SNIFF_BYTES);
  const format = sniffFormat(head, input.fileName, input.declaredType);
  if (format === null) {
    throw new ExtractionError('unsupported_format', 'This file is not in a supported format');
  }
  const inlineMax = opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
  if ((format === 'text' || format === 'markdown') && input.bytes.length <= inlineMax) {
    return extractFormat(input.bytes, format, limits, input.declaredType);
  }
  return (opts.pool ?? sharedPool()).run(input.bytes, format, limits, {
    signal: opts.signal,
    declaredType: input.declaredType,
  });
}
