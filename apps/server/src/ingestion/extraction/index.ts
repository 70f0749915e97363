import { chunkDocument } from '../chunker';
import {
  ExtractionError,
  type ExtractedDocument,
  type ExtractionInput,
  type ExtractionLimits,
  type SourceFormat,
} from './types';

export * from './types';

/**
 * The format of a file from its first bytes (and, for text, its name or declared type), or null
 * when it is none of the supported ones: the upload answers 415 at once.
 * (Placeholder: text and Markdown only, until PDF, DOCX and HTML extraction land.)
 */
export function sniffFormat(
  head: Uint8Array,
  fileName: string,
  declaredType?: string,
): SourceFormat | null {
  if (head.includes(0)) return null;
  if (declaredType === 'text/markdown' || /\.(md|markdown)$/i.test(fileName)) return 'markdown';
  return 'text';
}

/**
 * Extracts and chunks a file. Heavy formats run off the event loop (a worker thread).
 * (Placeholder: text and Markdown only, in-thread.)
 */
export async function extractDocument(
  input: ExtractionInput,
  limits: ExtractionLimits,
): Promise<ExtractedDocument> {
  const format = sniffFormat(input.bytes.subarray(0, 4096), input.fileName, input.declaredType);
  if (format !== 'markdown' && format !== 'text') {
    throw new ExtractionError('unsupported_format', 'This file is not in a supported format');
  }
  const text = new TextDecoder().decode(input.bytes);
  const contentType = format === 'markdown' ? 'text/markdown' : 'text/plain';
  const chunks = chunkDocument(text, {
    contentType,
    targetSize: limits.chunkSize,
    overlap: limits.chunkOverlap,
  });
  if (chunks.length === 0) throw new ExtractionError('no_text', 'The file holds no text');
  return {
    format,
    contentType,
    pages: null,
    chunks: chunks.map((c) => ({
      index: c.index,
      text: c.text,
      headingPath: c.headingPath,
      page: null,
    })),
  };
}
