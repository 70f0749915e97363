import { chunkDocument } from '../chunker';
import { decodeText } from './charset';
import {
  type ExtractedChunk,
  type ExtractedDocument,
  ExtractionError,
  type ExtractionLimits,
  type SourceFormat,
} from './types';

const CONTENT_TYPES: Record<SourceFormat, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  html: 'text/html',
  markdown: 'text/markdown',
  text: 'text/plain',
};

/**
 * Extraction and chunking of a file whose format is known, wherever it runs (the worker thread,
 * or in-thread for small text). PDF pages are chunked one by one so each chunk knows its page,
 * with `index` running on across pages; DOCX and HTML become Markdown first, so their headings
 * become heading paths.
 */
export async function extractFormat(
  bytes: Uint8Array,
  format: SourceFormat,
  limits: ExtractionLimits,
  declaredType?: string,
): Promise<ExtractedDocument> {
  const chunkOptions = { targetSize: limits.chunkSize, overlap: limits.chunkOverlap };
  let chunks: ExtractedChunk[];
  let pages: number | null = null;
  switch (format) {
    case 'pdf': {
      // Parsers load on first use: a worker that only ever sees Markdown starts in a fraction.
      const { extractPdfPages } = await import('./pdf');
      const pageTexts = await extractPdfPages(bytes, limits.maxPdfPages);
      pages = pageTexts.length;
      chunks = [];
      for (const { page, text } of pageTexts) {
        for (const c of chunkDocument(text, { contentType: 'text/plain', ...chunkOptions })) {
          chunks.push({ index: chunks.length, text: c.text, headingPath: c.headingPath, page });
        }
      }
      break;
    }
    case 'docx':
    case 'html':
    case 'markdown':
    case 'text': {
      const content =
        format === 'docx'
          ? await (await import('./docx')).docxToMarkdown(bytes, limits)
          : format === 'html'
            ? (await import('./html')).htmlToMarkdown(
                decodeText(bytes, { declaredType, html: true }),
              )
            : decodeText(bytes, { declaredType });
      const contentType = format === 'text' ? 'text/plain' : 'text/markdown';
      chunks = chunkDocument(content, { contentType, ...chunkOptions }).map((c) => ({
        index: c.index,
        text: c.text,
        headingPath: c.headingPath,
        page: null,
      }));
      break;
    }
  }
  if (chunks.length === 0) throw new ExtractionError('no_text', 'The file holds no text');
  return { format, contentType: CONTENT_TYPES[format], pages, chunks };
}
