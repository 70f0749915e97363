import { getDocumentProxy } from 'unpdf';
import { ExtractionError } from './types';

/** The text of one PDF page; `page` is 1-based. */
export interface PdfPageText {
  page: number;
  text: string;
}

/**
 * Text per page with pdf.js (unpdf's serverless build: no canvas, no network, no fonts needed for
 * text). Items are joined as laid out: an item flagged end-of-line, or one that starts on a new
 * baseline, begins a new line. Failures map to the contract's codes: a password → `encrypted`, a
 * structure pdf.js cannot parse → `corrupt`, more pages than allowed → `too_large`; a document
 * whose pages hold no text at all (a scan) → `no_text`.
 */
export async function extractPdfPages(bytes: Uint8Array, maxPages: number): Promise<PdfPageText[]> {
  if (!endsWithEofMarker(bytes)) {
    throw new ExtractionError('corrupt', 'The PDF is truncated (no %%EOF at its end)');
  }
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js takes ownership of (detaches) the buffer it is given, and refuses a Buffer: a plain copy.
    pdf = await getDocumentProxy(new Uint8Array(bytes), {
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      stopAtErrors: false,
      verbosity: 0,
    });
  } catch (err) {
    throw mapPdfError(err);
  }
  try {
    if (pdf.numPages > maxPages) {
      throw new ExtractionError(
        'too_large',
        `The PDF has ${pdf.numPages} pages, more than the ${maxPages} allowed`,
      );
    }
    const pages: PdfPageText[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      pages.push({ page: n, text: layoutText(content.items) });
      page.cleanup();
    }
    if (pages.every((p) => p.text.trim() === '')) {
      throw new ExtractionError('no_text', 'The PDF has no text layer (a scan?)');
    }
    return pages;
  } catch (err) {
    throw mapPdfError(err);
  } finally {
    await pdf.destroy();
  }
}

interface TextItemLike {
  str?: string;
  hasEOL?: boolean;
  transform?: number[];
}

/**
 * Every complete PDF ends with `%%EOF` (some writers add a little after it). pdf.js repairs a cut
 * file and would return the pages it still finds: an upload cut short would then be stored as if
 * whole, so a missing marker is `corrupt`.
 */
function endsWithEofMarker(bytes: Uint8Array): boolean {
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(-2048);
  return tail.includes('%%EOF');
}

function layoutText(items: readonly unknown[]): string {
  let text = '';
  let lastY: number | null = null;
  for (const raw of items) {
    const item = raw as TextItemLike;
    if (typeof item.str !== 'string') continue; // a marked-content marker
    const y = item.transform?.[5] ?? null;
    if (lastY !== null && y !== null && Math.abs(y - lastY) > 1 && !text.endsWith('\n')) {
      text += '\n';
    }
    text += item.str;
    if (item.hasEOL) text += '\n';
    if (y !== null) lastY = y;
  }
  return text;
}

function mapPdfError(err: unknown): unknown {
  if (err instanceof ExtractionError) return err;
  const name = (err as { name?: string } | null)?.name;
  if (name === 'PasswordException') {
    return new ExtractionError('encrypted', 'The PDF is protected by a password');
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ExtractionError('corrupt', `The PDF cannot be read (${message})`);
}
