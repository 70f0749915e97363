import { collectionsRepository } from '../collections/repository';
import type { Db } from '../db/connect';
import { labelSetChecksum } from './vector/label-set-checksum';
import type { VectorItem } from './vector/vector-index';
import type { ChunkVectorSource } from './vector/vector-index-store';

/** The chunks table as the vector indexes' source of truth. */
export function createPostgresChunkSource(db: Db): ChunkVectorSource {
  return {
    collectionIds: () => collectionsRepository.allIds(db),

    async dimensions(collectionId) {
      return (await collectionsRepository.dimensions(db, collectionId)) ?? 0;
    },

    async fingerprint(collectionId) {
      const ids = await collectionsRepository.chunkIds(db, collectionId);
      return { count: ids.length, checksum: labelSetChecksum(ids) };
    },

    vectors(collectionId, batchSize): AsyncIterable<VectorItem[]> {
      return keysetPages((after) =>
        collectionsRepository.chunkVectorsAfter(db, collectionId, after, batchSize),
      );
    },
  };
}

/** Every chunk's searchable text (heading path and text, as embedded), page by page. */
export function chunkTexts(
  db: Db,
  collectionId: string,
  batchSize = 2000,
): AsyncIterable<{ label: number; headingPath: string[]; text: string }[]> {
  return keysetPages((after) =>
    collectionsRepository.chunkTextsAfter(db, collectionId, after, batchSize),
  );
}

/** Keyset pagination: each page starts after the last label seen, so every page is an index range. */
async function* keysetPages<Item extends { label: number }>(
  fetchPage: (afterId: number) => Promise<Item[]>,
): AsyncIterable<Item[]> {
  let after = 0;
  for (;;) {
    const items = await fetchPage(after);
    if (items.length === 0) return;
    yield items;
    after = items[items.length - 1]!.label;
  }
}
