import type { PackedDocument } from './chunk-packing';
import type { ExtractionFailureCode, ExtractionLimits, SourceFormat } from './types';

/** What the pool posts to an extraction worker. */
export interface ExtractionRequest {
  id: number;
  bytes: Uint8Array;
  format: SourceFormat;
  limits: ExtractionLimits;
  /** The client's media type: its `charset` decides how text is decoded. */
  declaredType?: string;
}

/** Posted once by a worker that has loaded its modules and can take requests. */
export interface WorkerReady {
  ready: true;
}

/** What the worker answers: the document, or the failure's code and sentence. */
export type ExtractionReply =
  | { id: number; ok: true; document: PackedDocument }
  | { id: number; ok: false; code: ExtractionFailureCode; detail: string };
