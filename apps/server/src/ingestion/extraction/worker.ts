/**
 * The extraction worker thread: takes one request at a time from the pool and answers with the
 * chunks or the failure. Started from this `.ts` file with `--import tsx` (see worker-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { packDocument } from './chunk-packing';
import { extractFormat } from './extract';
import { ExtractionError } from './types';
import type { ExtractionReply, ExtractionRequest, WorkerReady } from './worker-protocol';

if (!parentPort) throw new Error('worker.ts runs only as a worker thread');
const port = parentPort;

port.on('message', async (request: ExtractionRequest) => {
  let reply: ExtractionReply;
  try {
    const document = await extractFormat(
      request.bytes,
      request.format,
      request.limits,
      request.declaredType,
    );
    reply = { id: request.id, ok: true, document: packDocument(document) };
  } catch (err) {
    // Anything a parser throws that is not one of ours means it could not make sense of the file.
    reply =
      err instanceof ExtractionError
        ? { id: request.id, ok: false, code: err.code, detail: err.detail }
        : {
            id: request.id,
            ok: false,
            code: 'corrupt',
            detail: `The file cannot be read (${err instanceof Error ? err.message : String(err)})`,
          };
  }
  port.postMessage(reply);
});

port.postMessage({ ready: true } satisfies WorkerReady);
