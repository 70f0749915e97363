import { sql } from 'kysely';
import type { Db } from '../../db/connect';

/** One row of the chunk change log: what a committed statement did to a collection's chunks. */
export interface ChunkChange {
  /** The writing transaction (xid8): the log's position. */
  xid: bigint;
  /** Tells apart the rows of one transaction; not an order across transactions. */
  id: number;
  collectionId: string;
  kind: 'add' | 'remove' | 'drop';
  chunkIds: number[];
}

/** app_meta key: every log row below this position may have been trimmed. */
const TRIMMED_BELOW_KEY = 'chunk_changes_trimmed_below';

export const changeLogRepository = {
  /**
   * The safe watermark: every transaction with an id below it has ended, so every log row below
   * it that will ever be visible is visible now. Rows at or above it may still appear.
   */
  async snapshotXmin(db: Db): Promise<bigint> {
    const { rows } = await sql<{
      xmin: string;
    }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
    return BigInt(rows[0]!.xmin);
  },

  /** Visible log rows at or above `from`, after `after` in (xid, id) order: one keyset page. */
  async changesFrom(
    db: Db,
    from: bigint,
    after: { xid: bigint; id: number } | null,
    limit: number,
  ): Promise<ChunkChange[]> {
    let query = db
      .selectFrom('chunk_changes')
      .select([sql<string>`xid::text`.as('xid'), 'id', 'collection_id', 'kind', 'chunk_ids'])
      .where(sql<boolean>`xid >= ${from.toString()}::xid8`);
    if (after) {
      query = query.where(sql<boolean>`(xid, id) > (${after.xid.toString()}::xid8, ${after.id})`);
    }
    const rows = await query.orderBy('xid').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      xid: BigInt(r.xid),
      id: Number(r.id),
      collectionId: r.collection_id,
      kind: r.kind,
      chunkIds: r.chunk_ids.map(Number),
    }));
  },

  /**
   * Log rows at or above `from` not among `applied`: how far a follower is behind, and how long
   * ago the oldest of them was written (by the database's clock, so no skew with this process's).
   */
  async pending(
    db: Db,
    from: bigint,
    applied: readonly number[],
  ): Promise<{ changes: number; seconds: number }> {
    const { rows } = await sql<{ changes: number; seconds: number | string | null }>`
      select count(*)::int as changes,
             extract(epoch from clock_timestamp() - min(created_at))::float8 as seconds
      from chunk_changes
      where xid >= ${from.toString()}::xid8 and id <> all(${`{${applied.join(',')}}`}::bigint[])`.execute(
      db,
    );
    const row = rows[0]!;
    return { changes: row.changes, seconds: row.seconds === null ? 0 : Number(row.seconds) };
  },

  /**
   * Deletes log rows created before `cutoff`, a batch at a time, and raises the trimmed-below
   * mark past them, so a checkpoint older than that is known to have lost its log. Returns how
   * many rows went.
   */
  async trimOlderThan(db: Db, cutoff: Date, batch = 5_000, maxBatches = 100): Promise<number> {
    let trimmed = 0;
    for (let i = 0; i < maxBatches; i++) {
      const rows = await db
        .deleteFrom('chunk_changes')
        .where(
          'id',
          'in',
          db
            .selectFrom('chunk_changes')
            .select('id')
            .where('created_at', '<', cutoff)
            .orderBy('id')
            .limit(batch),
        )
        .returning(sql<string>`xid::text`.as('xid'))
        .execute();
      if (rows.length === 0) break;
      trimmed += rows.length;
      let below = 0n;
      for (const r of rows) if (BigInt(r.xid) + 1n > below) below = BigInt(r.xid) + 1n;
      // Two processes trimming at once: the mark only ever rises.
      await sql`
        insert into app_meta (key, value) values (${TRIMMED_BELOW_KEY}, ${below.toString()})
        on conflict (key) do update set
          value = case when excluded.value::xid8 > app_meta.value::xid8
                       then excluded.value else app_meta.value end,
          updated_at = now()`.execute(db);
      if (rows.length < batch) break;
    }
    return trimmed;
  },

  /** Every log row below this position may be gone (0 when nothing was ever trimmed). */
  async trimmedBelow(db: Db): Promise<bigint> {
    const row = await db
      .selectFrom('app_meta')
      .select('value')
      .where('key', '=', TRIMMED_BELOW_KEY)
      .executeTakeFirst();
    return row ? BigInt(row.value) : 0n;
  },
};
