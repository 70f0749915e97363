import type { PageInput } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, singleKey, timeIdKey, toPage } from '../db/keyset';
import type { CollectionRow, NewChunkRow, NewCollectionRow, NewDocumentRow } from '../db/schema';
import { decodeVector, encodeVector } from '../retrieval/vector/vector-codec';

const CHUNK_INSERT_BATCH = 50;
/** What a collection name may be (contracts' rule), so a forged cursor never reaches SQL oddly. */
const COLLECTION_NAME_KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export type CollectionWithCounts = CollectionRow & { documents: number; chunks: number };

const withCounts = (db: Db) =>
  db
    .selectFrom('collections')
    .selectAll('collections')
    .select((eb) => [
      eb
        .selectFrom('documents')
        .select(sql<number>`count(*)::int`.as('n'))
        .whereRef('documents.collection_id', '=', 'collections.id')
        .where('documents.status', '=', 'ready')
        .as('documents'),
      eb
        .selectFrom('documents')
        .select(sql<number>`coalesce(sum(chunk_count), 0)::int`.as('n'))
        .whereRef('documents.collection_id', '=', 'collections.id')
        .where('documents.status', '=', 'ready')
        .as('chunks'),
    ]);

export const collectionsRepository = {
  /**
   * The collection alone: what a search, an upload or a deletion needs. Its counts are a sum over
   * its documents, which grows with the collection: only the collection's own representation
   * (`findByNameWithCounts`) pays for them.
   */
  findByName(db: Db, name: string): Promise<CollectionRow | undefined> {
    return db.selectFrom('collections').selectAll().where('name', '=', name).executeTakeFirst();
  },

  async findByNameWithCounts(db: Db, name: string): Promise<CollectionWithCounts | undefined> {
    const row = await withCounts(db).where('collections.name', '=', name).executeTakeFirst();
    return row ? { ...row, documents: row.documents ?? 0, chunks: row.chunks ?? 0 } : undefined;
  },

  /** A page in name order (the unique index on `name`). */
  async listReadable(
    db: Db,
    reader: { id: string; role: string },
    page: PageInput,
  ): Promise<{ rows: CollectionWithCounts[]; next_cursor: string | null }> {
    let query = withCounts(db);
    if (page.cursor) {
      query = query.where('collections.name', '>', singleKey(page.cursor, COLLECTION_NAME_KEY));
    }
    if (reader.role !== 'admin') {
      query = query.where((eb) =>
        eb.or([
          eb('collections.owner_id', '=', reader.id),
          eb('collections.visibility', '=', 'shared'),
        ]),
      );
    }
    const rows = await query.orderBy('collections.name').limit(fetchSize(page)).execute();
    const counted = rows.map((r) => ({ ...r, documents: r.documents ?? 0, chunks: r.chunks ?? 0 }));
    return toPage(counted, page, (r) => [r.name]);
  },

  /** Undefined when the name is taken (no exception to catch). */
  insert(db: Db, c: NewCollectionRow) {
    return db
      .insertInto('collections')
      .values(c)
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
  },

  async delete(db: Db, id: string): Promise<void> {
    await db.deleteFrom('collections').where('id', '=', id).execute();
  },

  async allIds(db: Db): Promise<string[]> {
    const rows = await db.selectFrom('collections').select('id').execute();
    return rows.map((r) => r.id);
  },

  async idsOwnedBy(db: Db, ownerId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('collections')
      .select('id')
      .where('owner_id', '=', ownerId)
      .execute();
    return rows.map((r) => r.id);
  },

  async dimensions(db: Db, id: string): Promise<number | undefined> {
    const row = await db
      .selectFrom('collections')
      .select('dimensions')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.dimensions;
  },

  /** A page in `(created_at, id)` order (index `documents_collection_created_at_id`). */
  async listDocuments(db: Db, collectionId: string, page: PageInput) {
    let query = db
      .selectFrom('documents')
      .selectAll()
      .select(exactTimestamp('created_at').as('key_at'))
      .where('collection_id', '=', collectionId);
    if (page.cursor) {
      query = query.where(afterTimeId('created_at', 'id', timeIdKey(page.cursor, { uuid: true })));
    }
    const rows = await query.orderBy('created_at').orderBy('id').limit(fetchSize(page)).execute();
    return toPage(rows, page, (r) => [r.key_at, r.id]);
  },

  findDocument(db: Db, collectionId: string, documentId: string) {
    return db
      .selectFrom('documents')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('id', '=', documentId)
      .executeTakeFirst();
  },

  /** Deletes a document and its chunks; returns the chunk ids that must leave the indexes. */
  async deleteDocument(db: Db, documentId: string): Promise<number[]> {
    const chunks = await db
      .deleteFrom('chunks')
      .where('document_id', '=', documentId)
      .returning('id')
      .execute();
    await db.deleteFrom('documents').where('id', '=', documentId).execute();
    return chunks.map((c) => Number(c.id));
  },

  /** A new document: queued, its chunks come when its job makes it ready (ingestion/jobs). */
  insertDocument(db: Db, d: NewDocumentRow) {
    return db.insertInto('documents').values(d).returningAll().executeTakeFirstOrThrow();
  },

  async insertChunks(
    db: Db,
    chunks: (Omit<NewChunkRow, 'embedding'> & { embedding: number[] })[],
  ): Promise<number[]> {
    const ids: number[] = [];
    // Small statements: the embedded database runs each one synchronously (50 rows ≈ 15 ms), and
    // gives the loop a turn after each (MacrotaskYieldPlugin), so a large document never holds
    // it for long (one 500-row statement took 1.1 s).
    for (let i = 0; i < chunks.length; i += CHUNK_INSERT_BATCH) {
      const rows = await db
        .insertInto('chunks')
        .values(
          chunks
            .slice(i, i + CHUNK_INSERT_BATCH)
            .map((c) => ({ ...c, embedding: encodeVector(c.embedding) })),
        )
        .returning('id')
        .execute();
      for (const r of rows) ids.push(Number(r.id));
    }
    return ids;
  },

  /** Every chunk id of a collection: what its vector index must hold. */
  async chunkIds(db: Db, collectionId: string): Promise<number[]> {
    const rows = await db
      .selectFrom('chunks')
      .select('id')
      .where('collection_id', '=', collectionId)
      .execute();
    return rows.map((r) => Number(r.id));
  },

  /** One keyset page of a collection's embeddings: the chunks after `afterId`, in id order. */
  async chunkVectorsAfter(
    db: Db,
    collectionId: string,
    afterId: number,
    limit: number,
  ): Promise<{ label: number; vector: number[] }[]> {
    const rows = await db
      .selectFrom('chunks')
      .select(['id', 'embedding'])
      .where('collection_id', '=', collectionId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ label: Number(r.id), vector: decodeVector(r.embedding) }));
  },

  /**
   * The chunks among `ids` that still exist in the collection, with what both indexes need: the
   * vector, and the text as embedded. Chunks deleted since are simply absent.
   */
  async chunkIndexItems(
    db: Db,
    collectionId: string,
    ids: readonly number[],
  ): Promise<{ label: number; vector: number[]; headingPath: string[]; text: string }[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('chunks')
      .select(['id', 'embedding', 'heading_path', 'text'])
      .where('collection_id', '=', collectionId)
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      label: Number(r.id),
      vector: decodeVector(r.embedding),
      headingPath: r.heading_path,
      text: r.text,
    }));
  },

  /** One keyset page of a collection's searchable texts (heading path and text, as embedded). */
  async chunkTextsAfter(
    db: Db,
    collectionId: string,
    afterId: number,
    limit: number,
  ): Promise<{ label: number; headingPath: string[]; text: string }[]> {
    const rows = await db
      .selectFrom('chunks')
      .select(['id', 'heading_path', 'text'])
      .where('collection_id', '=', collectionId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ label: Number(r.id), headingPath: r.heading_path, text: r.text }));
  },
};
