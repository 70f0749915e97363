import type { ExtractedChunk, ExtractedDocument } from './types';

/**
 * A document's chunks in a form that crosses from the worker cheaply: one string of all texts,
 * typed arrays of lengths and pages, each distinct heading path once. Cloning 10,000 chunk
 * objects blocked the main thread for tens of milliseconds (a 4 MB Markdown file); this clones
 * as a few flat blocks, and unpacking is slicing.
 */
export interface PackedDocument {
  format: ExtractedDocument['format'];
  contentType: string;
  pages: number | null;
  texts: string;
  lengths: Uint32Array;
  /** 1-based page of each chunk, 0 for none. */
  chunkPages: Uint32Array;
  headingPaths: string[][];
  headingPathOf: Uint32Array;
}

export function packDocument(doc: ExtractedDocument): PackedDocument {
  const n = doc.chunks.length;
  const lengths = new Uint32Array(n);
  const chunkPages = new Uint32Array(n);
  const headingPathOf = new Uint32Array(n);
  const headingPaths: string[][] = [];
  const pathIds = new Map<string, number>();
  doc.chunks.forEach((chunk, i) => {
    lengths[i] = chunk.text.length;
    chunkPages[i] = chunk.page ?? 0;
    const key = JSON.stringify(chunk.headingPath);
    let id = pathIds.get(key);
    if (id === undefined) {
      id = headingPaths.push(chunk.headingPath) - 1;
      pathIds.set(key, id);
    }
    headingPathOf[i] = id;
  });
  return {
    format: doc.format,
    contentType: doc.contentType,
    pages: doc.pages,
    texts: doc.chunks.map((c) => c.text).join(''),
    lengths,
    chunkPages,
    headingPaths,
    headingPathOf,
  };
}

export function unpackDocument(packed: PackedDocument): ExtractedDocument {
  const chunks: ExtractedChunk[] = new Array(packed.lengths.length);
  let at = 0;
  for (let i = 0; i < packed.lengths.length; i++) {
    const end = at + packed.lengths[i]!;
    chunks[i] = {
      index: i,
      text: packed.texts.slice(at, end),
      // A copy per chunk: callers may change one chunk's path without touching the others.
      headingPath: [...packed.headingPaths[packed.headingPathOf[i]!]!],
      page: packed.chunkPages[i] === 0 ? null : packed.chunkPages[i]!,
    };
    at = end;
  }
  return { format: packed.format, contentType: packed.contentType, pages: packed.pages, chunks };
}
