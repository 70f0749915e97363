/**
 * What extraction makes of an uploaded file: the format recognised from its bytes, and its text
 * cut into chunks that remember where they came from (page, heading path). The job runner stores
 * these; retrieval cites `page`.
 */
export type SourceFormat = 'pdf' | 'docx' | 'html' | 'markdown' | 'text';

/** The contract's failure codes that extraction itself can find (API.md, "Documents…"). */
export type ExtractionFailureCode =
  | 'unsupported_format'
  | 'encrypted'
  | 'no_text'
  | 'corrupt'
  | 'too_large';

/** A file that cannot become chunks, with the contract's code and a sentence for the user. */
export class ExtractionError extends Error {
  override name = 'ExtractionError';
  constructor(
    readonly code: ExtractionFailureCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export interface ExtractionLimits {
  /** `MAX_PDF_PAGES`: a PDF with more pages is `too_large`. */
  maxPdfPages: number;
  /** Archive (DOCX) expansion bounds: total uncompressed bytes and entries, else `too_large`. */
  maxExpandedBytes: number;
  maxArchiveEntries: number;
  /** The chunker's settings (CHUNK_SIZE, CHUNK_OVERLAP). */
  chunkSize: number;
  chunkOverlap: number;
}

export interface ExtractedChunk {
  /** Position in the document, from 0, over all pages. */
  index: number;
  text: string;
  headingPath: string[];
  /** 1-based page of a PDF; null for formats without pages. */
  page: number | null;
}

export interface ExtractedDocument {
  format: SourceFormat;
  /** The media type stored with the document, e.g. `application/pdf`, `text/markdown`. */
  contentType: string;
  /** Page count of a PDF; null otherwise. */
  pages: number | null;
  chunks: ExtractedChunk[];
}

export interface ExtractionInput {
  bytes: Uint8Array;
  fileName: string;
  /** A media type the client declared (JSON `content_type`, a multipart part's type, HTTP). */
  declaredType?: string;
}
