import type { DocumentFilter } from '@personas/contracts';
import { type Expression, type SqlBool, sql } from 'kysely';
import type { Db } from '../db/connect';

/**
 * A filter as SQL over `documents.attributes`, one containment test per alternative: JSON
 * equality, type included (`{"year": 2024}` does not contain `{"year": "2024"}`), and a document
 * without the key contains none of them. Single values of every key go into one object (all must
 * hold); a key with a list holds when any of its values does.
 */
function attributesMatch(filter: DocumentFilter): Expression<SqlBool> {
  const attributes = sql.ref('documents.attributes');
  const contains = (object: Record<string, unknown>) =>
    sql<SqlBool>`${attributes} @> cast(${JSON.stringify(object)} as jsonb)`;
  const singles: Record<string, unknown> = {};
  const tests: Expression<SqlBool>[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (!Array.isArray(value)) singles[key] = value;
    else if (value.length === 1) singles[key] = value[0];
    else
      tests.push(
        sql<SqlBool>`(${sql.join(
          value.map((v) => contains({ [key]: v })),
          sql` or `,
        )})`,
      );
  }
  if (Object.keys(singles).length > 0) tests.unshift(contains(singles));
  return tests.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`${sql.join(tests, sql` and `)}`;
}

/** The queries retrieval makes besides the indexes: what a hit shows, and what a filter allows. */
export const retrievalRepository = {
  /**
   * The chunks with these ids and what a hit shows of them, their document's attributes joined:
   * one round trip (top_k ≤ 20 rows), cheaper here than a second query per distinct document.
   */
  hitRows(db: Db, ids: number[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('chunks')
      .innerJoin('documents', 'documents.id', 'chunks.document_id')
      .select([
        'chunks.id',
        'chunks.text',
        'chunks.embedding',
        'chunks.page',
        'chunks.document_id',
        'documents.file_name',
        'documents.doc_path',
        'documents.attributes',
      ])
      .where('chunks.id', 'in', ids)
      .execute();
  },

  /**
   * The ids of every chunk of these collections whose document matches the filter: the labels
   * the indexes may answer with. Documents are found through their collection, then their chunks
   * through `chunks_document_id`.
   */
  async chunkIdsMatching(
    db: Db,
    collectionIds: string[],
    filter: DocumentFilter,
  ): Promise<number[]> {
    if (collectionIds.length === 0) return [];
    const rows = await db
      .selectFrom('documents')
      .innerJoin('chunks', 'chunks.document_id', 'documents.id')
      .select('chunks.id')
      .where('documents.collection_id', 'in', collectionIds)
      .where(attributesMatch(filter))
      .execute();
    return rows.map((r) => Number(r.id));
  },
};
