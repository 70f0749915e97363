import type { Db } from '../db/connect';
import { labelSetChecksum } from './vector/label-set-checksum';
import { decodeVector } from './vector/vector-codec';
import type { VectorItem } from './vector/vector-index';
import type { ChunkVectorSource } from './vector/vector-index-store';

/** The chunks table as the vector indexes' source of truth. */
export function createPostgresChunkSource(db: Db): ChunkVectorSource {
  return {
    async collectionIds() {
      const rows = await db.selectFrom('collections').select('id').execute();
      return rows.map((r) => r.id);
    },

    async dimensions(collectionId) {
      const row = await db
        .selectFrom('collections')
        .select('dimensions')
        .where('id', '=', collectionId)
        .executeTakeFirst();
      return row?.dimensions ?? 0;
    },

    async fingerprint(collectionId) {
      const rows = await db
        .selectFrom('chunks')
        .select('id')
        .where('collection_id', '=', collectionId)
        .execute();
      const ids = rows.map((r) => Number(r.id));
      return { count: ids.length, checksum: labelSetChecksum(ids) };
    },

    async *vectors(collectionId, batchSize): AsyncIterable<VectorItem[]> {
      const pages = keysetPages((after) =>
        db
          .selectFrom('chunks')
          .select(['id', 'embedding'])
          .where('collection_id', '=', collectionId)
          .where('id', '>', after)
          .orderBy('id')
          .limit(batchSize)
          .execute(),
      );
      for await (const rows of pages) {
        yield rows.map((r) => ({ label: Number(r.id), vector: decodeVector(r.embedding) }));
      }
    },
  };
}

/** Every chunk's searchable text (heading path and text, as embedded), page by page. */
export async function* chunkTexts(
  db: Db,
  collectionId: string,
  batchSize = 2000,
): AsyncIterable<{ label: number; headingPath: string[]; text: string }[]> {
  const pages = keysetPages((after) =>
    db
      .selectFrom('chunks')
      .select(['id', 'heading_path', 'text'])
      .where('collection_id', '=', collectionId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(batchSize)
      .execute(),
  );
  for await (const rows of pages) {
    yield rows.map((r) => ({ label: Number(r.id), headingPath: r.heading_path, text: r.text }));
  }
}

/** Keyset pagination: each page starts after the last id seen, so every page is an index range. */
async function* keysetPages<Row extends { id: number }>(
  fetchPage: (afterId: number) => Promise<Row[]>,
): AsyncIterable<Row[]> {
  let after = 0;
  for (;;) {
    const rows = await fetchPage(after);
    if (rows.length === 0) return;
    yield rows;
    after = Number(rows[rows.length - 1]!.id);
  }
}
