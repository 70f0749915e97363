import { declaredCharset, legacyDecoder } from './charset';
import type { SourceFormat } from './types';
import {
  findEndOfCentralDirectory,
  isZipSignature,
  localEntryNames,
  readZipDirectory,
  ZipFormatError,
} from './zip-directory';

/** The part of a DOCX that holds the text; a ZIP without it is not a Word document. */
export const DOCX_MAIN_PART = 'word/document.xml';

const MARKDOWN_TYPES = new Set(['text/markdown', 'text/x-markdown']);
const MARKDOWN_NAME = /\.(md|markdown|mdown|mkd|mkdn)$/i;
const HTML_NAME = /\.(html?|xhtml)$/i;
const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * The format of a file from its first bytes, or null when it is none of the supported ones (the
 * upload answers 415 at once). The name and declared type only choose between readings of the
 * same bytes (Markdown or plain text; HTML for text declared so): they never make a binary file
 * text. A positive list of three signatures (PDF, ZIP, text) is all we need, so no signature
 * library: whatever is not recognised — images, executables, other archives — is refused.
 *
 * DOCX: a ZIP's central directory sits at its end. When `head` holds the whole file, it decides
 * (`word/document.xml` present); otherwise the local headers at the start do: Word writes
 * `[Content_Types].xml`, `_rels/` and `word/` first, and a ZIP whose first entries are something
 * else (`xl/`, `ppt/`, any other file) is refused. Extraction confirms from the central directory.
 */
export function sniffFormat(
  head: Uint8Array,
  fileName: string,
  declaredType?: string,
): SourceFormat | null {
  const type = declaredType?.split(';')[0]?.trim().toLowerCase();
  if (isPdf(head)) return 'pdf';
  if (isZipSignature(head)) return looksLikeDocx(head, fileName, type) ? 'docx' : null;
  const text = textPrefix(head, legacyDecoder(declaredCharset(declaredType)));
  if (text === null) {
    // A legacy web page (Latin-1, Shift_JIS…): its tags are ASCII. It declares its charset in a
    // `<meta>`, or is read as Windows-1252 like browsers do.
    const latin1 = textPrefix(head, new TextDecoder('latin1'));
    return latin1 !== null && looksLikeHtml(latin1) ? 'html' : null;
  }
  if (MARKDOWN_TYPES.has(type ?? '') || (type !== 'text/html' && MARKDOWN_NAME.test(fileName))) {
    return 'markdown';
  }
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (looksLikeHtml(text) || HTML_NAME.test(fileName)) return 'html';
  return 'text';
}

/** `%PDF-` within the first KiB: readers accept junk before it, and so do we. */
function isPdf(head: Uint8Array): boolean {
  const limit = Math.min(head.length, 1024) - 5;
  for (let i = 0; i <= limit; i++) {
    if (
      head[i] === 0x25 &&
      head[i + 1] === 0x50 &&
      head[i + 2] === 0x44 &&
      head[i + 3] === 0x46 &&
      head[i + 4] === 0x2d
    ) {
      return true;
    }
  }
  return false;
}

function looksLikeDocx(head: Uint8Array, fileName: string, type: string | undefined): boolean {
  if (findEndOfCentralDirectory(head) !== -1) {
    try {
      const directory = readZipDirectory(head, 100_000);
      // ZIP64: let extraction say too_large rather than refuse a possible DOCX here.
      if (directory === null) return true;
      return directory.entries.some((e) => e.name === DOCX_MAIN_PART);
    } catch (err) {
      if (!(err instanceof ZipFormatError)) throw err;
      // A broken directory: fall through to the local headers, extraction will say corrupt.
    }
  }
  const names = localEntryNames(head);
  if (names.some((n) => n === DOCX_MAIN_PART || n.startsWith('word/'))) return true;
  if (names.some((n) => n.startsWith('xl/') || n.startsWith('ppt/'))) return false;
  const ooxmlStart =
    names.length > 0 && (names[0] === '[Content_Types].xml' || names[0] === '_rels/.rels');
  return ooxmlStart || (names.length === 0 && (type === DOCX_TYPE || /\.docx$/i.test(fileName)));
}

/**
 * The head decoded when it reads as text: valid UTF-8 (a sequence cut by the end of the head is
 * fine) or, when `legacy` is given (a declared charset), decoded with it; either way no NUL and no
 * control character other than whitespace, form feed and escape.
 */
function textPrefix(
  head: Uint8Array,
  legacy: InstanceType<typeof TextDecoder> | null,
): string | null {
  if (legacy) return withoutControls(legacy.decode(head));
  let end = head.length;
  // Drop an incomplete multi-byte sequence at the very end: the head cut it, not the file.
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = head[end - back]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (back < need) end -= back;
    }
    break;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
  } catch {
    return null;
  }
  return withoutControls(text);
}

function withoutControls(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 12 && c !== 13 && c !== 27) || c === 0x7f) {
      return null;
    }
  }
  return text;
}

/**
 * WHATWG MIME sniffing's HTML rule: after whitespace (and an XML declaration, for XHTML), one of
 * the tags that only HTML starts with, followed by a space or `>`.
 */
const HTML_START =
  /^(?:<\?xml[^>]*>\s*)?(?:<!doctype html|<html|<head|<body|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<br|<p|<!--)[\s>]/i;

function looksLikeHtml(text: string): boolean {
  return HTML_START.test(text.replace(/^\uFEFF/, '').trimStart());
}
