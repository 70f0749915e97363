import type { DocumentFailureCode } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../../db/connect';
import type { DocumentRow } from '../../db/schema';

/** The channel an accepted upload notifies, so every process's runner looks for work at once. */
export const JOBS_CHANNEL = 'ingestion_jobs';

const leaseUntil = (leaseMs: number) => sql<Date>`now() + ${`${leaseMs} milliseconds`}::interval`;

/**
 * Ingestion jobs, which are documents that are not yet `ready` or `failed`. Claims and leases use
 * the database's clock, so processes with skewed clocks agree on when a lease ran out.
 */
/** The size of one stored part of an upload's bytes. */
const SOURCE_PART_BYTES = 256 * 1024;

export const jobsRepository = {
  /** Wakes every process's runner (delivered at commit; a wake-up, never a record). */
  async notify(db: Db): Promise<void> {
    await sql`select pg_notify(${JOBS_CHANNEL}, '')`.execute(db);
  },

  /**
   * Jobs whose lease ran out after `maxAttempts` claims are given up: each claim ended with its
   * process gone (a file that crashes the extractor, again and again), so it would only do so
   * again. Returns their ids.
   */
  async giveUpExhausted(db: Db, maxAttempts: number): Promise<string[]> {
    const rows = await db
      .updateTable('documents')
      .set({
        status: 'failed',
        error_code: 'corrupt',
        error_detail: `Processing this file stopped the server ${maxAttempts} times; it was given up`,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: sql`now()`,
      })
      .where('status', '=', 'processing')
      .where('lease_expires_at', '<', sql<Date>`now()`)
      .where('attempts', '>=', maxAttempts)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  },

  /**
   * Claims the oldest queued job, or one whose holder's lease ran out, for `owner`. SKIP LOCKED:
   * processes claiming at once each get a different job instead of queueing on the same row.
   */
  async claimNext(
    db: Db,
    owner: string,
    opts: { leaseMs: number; maxAttempts: number },
  ): Promise<DocumentRow | undefined> {
    return db
      .updateTable('documents')
      .set((eb) => ({
        status: 'processing',
        lease_owner: owner,
        lease_expires_at: leaseUntil(opts.leaseMs),
        attempts: eb('attempts', '+', 1),
        updated_at: sql`now()`,
      }))
      .where('id', '=', (eb) =>
        eb
          .selectFrom('documents')
          .select('id')
          .where((w) =>
            w.or([
              w('status', '=', 'queued'),
              w.and([
                w('status', '=', 'processing'),
                w('lease_expires_at', '<', sql<Date>`now()`),
                w('attempts', '<', opts.maxAttempts),
              ]),
            ]),
          )
          .orderBy('created_at')
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .executeTakeFirst();
  },

  /** Extends the lease; false when the job is no longer this owner's (deleted, taken over). */
  async renewLease(db: Db, id: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await db
      .updateTable('documents')
      .set({ lease_expires_at: leaseUntil(leaseMs) })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  /**
   * Hands a job back unfinished, queued again at once for any process. When this process is
   * stopping the claim is not counted against the job (the file did nothing wrong); after an
   * unexplained failure it is, so a job that always fails ends `failed`.
   */
  async release(
    db: Db,
    id: string,
    owner: string,
    opts: { countAttempt?: boolean } = {},
  ): Promise<void> {
    await db
      .updateTable('documents')
      .set((eb) => ({
        status: 'queued',
        lease_owner: null,
        lease_expires_at: null,
        attempts: opts.countAttempt ? eb.ref('attempts') : eb('attempts', '-', 1),
        chunks_done: 0,
        updated_at: sql`now()`,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'processing')
      .execute();
  },

  /**
   * PGlite is one process: whatever is `processing` at start was held by this data directory's
   * previous process, which is gone. Its leases end now, so they are reclaimed at once.
   */
  async expireAllLeases(db: Db): Promise<void> {
    await db
      .updateTable('documents')
      .set({ lease_expires_at: sql`now() - interval '1 second'` })
      .where('status', '=', 'processing')
      .execute();
  },

  async progress(
    db: Db,
    id: string,
    owner: string,
    values: Partial<
      Pick<DocumentRow, 'chunks_done' | 'chunks_total' | 'pages' | 'content_type' | 'bytes'>
    >,
  ): Promise<boolean> {
    const result = await db
      .updateTable('documents')
      .set({ ...values, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  async fail(
    db: Db,
    id: string,
    owner: string,
    error: { code: DocumentFailureCode; detail: string },
  ): Promise<void> {
    await db
      .updateTable('documents')
      .set({
        status: 'failed',
        error_code: error.code,
        error_detail: error.detail.slice(0, 1000),
        lease_owner: null,
        lease_expires_at: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'processing')
      .execute();
  },

  /** A failed job queued again (retry); false when it is not `failed`. */
  async requeueFailed(db: Db, id: string): Promise<boolean> {
    const result = await db
      .updateTable('documents')
      .set({
        status: 'queued',
        error_code: null,
        error_detail: null,
        attempts: 0,
        chunks_done: 0,
        chunks_total: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  /** The upload's bytes, read a part per statement (see `insertSource`). */
  async readSource(db: Db, id: string): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    for (let part = 0; ; part++) {
      const row = await db
        .selectFrom('document_sources')
        .select('bytes')
        .where('document_id', '=', id)
        .where('part', '=', part)
        .executeTakeFirst();
      if (!row) break;
      parts.push(row.bytes);
    }
    return parts.length > 0 ? Buffer.concat(parts) : undefined;
  },

  /**
   * Keeps the upload's bytes in parts, a statement each: on the embedded database a statement
   * runs on the event loop, and a multi-megabyte value in one statement stalled every request.
   * An empty upload is one empty part.
   */
  async insertSource(db: Db, id: string, bytes: Uint8Array): Promise<void> {
    for (let part = 0, at = 0; part === 0 || at < bytes.length; part++, at += SOURCE_PART_BYTES) {
      await db
        .insertInto('document_sources')
        .values({ document_id: id, part, bytes: bytes.subarray(at, at + SOURCE_PART_BYTES) })
        .execute();
    }
  },

  async status(db: Db, id: string): Promise<DocumentRow['status'] | undefined> {
    const row = await db
      .selectFrom('documents')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.status;
  },

  /** The job's row, locked for the commit that makes it ready, if this owner still holds it. */
  lockHeld(db: Db, id: string, owner: string) {
    return db
      .selectFrom('documents')
      .selectAll()
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'processing')
      .forUpdate()
      .executeTakeFirst();
  },

  /**
   * Is a document with this path, accepted after `than`, ready in the collection? (The later
   * upload that won a race and replaced `than`, which is gone, so its timestamp comes from
   * JavaScript, to the millisecond.) The order is the runner's: `(created_at, id)`.
   */
  async laterReadyWithPath(
    db: Db,
    collectionId: string,
    docPath: string,
    than: { created_at: Date; id: string },
  ): Promise<boolean> {
    const row = await db
      .selectFrom('documents')
      .select('id')
      .where('collection_id', '=', collectionId)
      .where('doc_path', '=', docPath)
      .where('status', '=', 'ready')
      .where(sql<boolean>`(created_at, id) > (${than.created_at}, ${than.id}::uuid)`)
      .executeTakeFirst();
    return row !== undefined;
  },

  /**
   * The ready documents of a path, locked, each marked `newer` when it was accepted after `id`
   * ((created_at, id) order, compared in SQL at full timestamp precision).
   */
  readyOfPath(db: Db, collectionId: string, docPath: string, id: string) {
    return db
      .selectFrom('documents')
      .select(['id'])
      .select(
        sql<boolean>`(created_at, id) > (select d.created_at, d.id from documents d where d.id = ${id})`.as(
          'newer',
        ),
      )
      .where('collection_id', '=', collectionId)
      .where('doc_path', '=', docPath)
      .where('status', '=', 'ready')
      .forUpdate()
      .execute();
  },

  async markReady(
    db: Db,
    id: string,
    values: Pick<
      DocumentRow,
      'chunk_count' | 'bytes' | 'content_sha256' | 'content_type' | 'pages'
    >,
  ): Promise<void> {
    await db
      .updateTable('documents')
      .set({
        ...values,
        status: 'ready',
        chunks_done: values.chunk_count,
        chunks_total: values.chunk_count,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
    await db.deleteFrom('document_sources').where('document_id', '=', id).execute();
  },
};
