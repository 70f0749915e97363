import mammoth from 'mammoth';
import { htmlToMarkdown } from './html';
import { DOCX_MAIN_PART } from './sniff';
import { ExtractionError, type ExtractionLimits } from './types';
import { guardZip } from './zip-guard';

/**
 * A Word document as Markdown. The archive is checked first (`guardZip`: entry count, declared and
 * real expansion), because mammoth's zip library inflates whole entries into memory. mammoth
 * renders to HTML, whose `<h1>`…`<h6>` (from Word's heading styles) go through the same
 * HTML → Markdown path as web pages, so headings become heading paths; its own Markdown output is
 * deprecated upstream.
 */
export async function docxToMarkdown(
  bytes: Uint8Array,
  limits: Pick<ExtractionLimits, 'maxExpandedBytes' | 'maxArchiveEntries'>,
): Promise<string> {
  const entries = await guardZip(bytes, limits);
  if (!entries.some((e) => e.name === DOCX_MAIN_PART)) {
    throw new ExtractionError('unsupported_format', 'This ZIP archive is not a Word document');
  }
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      {
        // Never read files the document links to (mammoth's default since the 1.11 advisory).
        externalFileAccess: false,
        // Images are dropped from the text anyway: skip base64-encoding them into the HTML.
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
      },
    );
    html = result.value;
  } catch (err) {
    throw new ExtractionError(
      'corrupt',
      `The Word document cannot be read (${(err as Error).message})`,
    );
  }
  // A whole document, not a web page: no Readability, every paragraph is content.
  return htmlToMarkdown(`<!doctype html><html><body>${html}</body></html>`, { readability: false });
}
