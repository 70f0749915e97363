import { describe, expect, it } from 'vitest';
import { packDocument, unpackDocument } from './chunk-packing';
import type { ExtractedDocument } from './types';

describe('packDocument / unpackDocument', () => {
  it('gives back the same chunks, pages, heading paths and indexes', () => {
    const doc: ExtractedDocument = {
      format: 'pdf',
      contentType: 'application/pdf',
      pages: 3,
      chunks: [
        { index: 0, text: 'First é 🙂', headingPath: [], page: 1 },
        { index: 1, text: 'Second', headingPath: ['A', 'B'], page: 1 },
        { index: 2, text: '', headingPath: ['A', 'B'], page: 3 },
        { index: 3, text: 'Fourth', headingPath: ['A'], page: null },
      ],
    };
    const back = unpackDocument(structuredClone(packDocument(doc)));
    expect(back).toEqual(doc);
    // Chunks sharing a path do not share the array.
    back.chunks[1]!.headingPath.push('C');
    expect(back.chunks[2]!.headingPath).toEqual(['A', 'B']);
  });
});
