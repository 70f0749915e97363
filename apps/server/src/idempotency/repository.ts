import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { IdempotencyKeyRow } from '../db/schema';

const olderThan = (ttlMs: number) => sql<Date>`now() - ${`${ttlMs} milliseconds`}::interval`;

/** `Idempotency-Key` rows: claimed atomically by the unique (caller, key), across processes. */
export const idempotencyRepository = {
  /**
   * Inserts the key in flight unless the caller already holds it. A row past `ttlMs` is gone
   * first, so an expired key is free again, and so is one still in flight after `leaseMs`: the
   * process that claimed it died before answering, and nothing was acknowledged under it.
   * True when this request claimed it.
   */
  async claim(
    db: Db,
    row: { caller: string; key: string; requestHash: string },
    opts: { ttlMs: number; leaseMs: number },
  ): Promise<boolean> {
    await db
      .deleteFrom('idempotency_keys')
      .where('caller', '=', row.caller)
      .where('key', '=', row.key)
      .where((eb) =>
        eb.or([
          eb('created_at', '<', olderThan(opts.ttlMs)),
          eb.and([eb('state', '=', 'in_flight'), eb('created_at', '<', olderThan(opts.leaseMs))]),
        ]),
      )
      .execute();
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        caller: row.caller,
        key: row.key,
        request_hash: row.requestHash,
        state: 'in_flight',
      })
      .onConflict((oc) => oc.columns(['caller', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async find(db: Db, caller: string, key: string): Promise<IdempotencyKeyRow | undefined> {
    return db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('caller', '=', caller)
      .where('key', '=', key)
      .executeTakeFirst();
  },

  async complete(
    db: Db,
    caller: string,
    key: string,
    answer: { status: number; body: unknown },
  ): Promise<void> {
    await db
      .updateTable('idempotency_keys')
      .set({ state: 'done', status: answer.status, response: JSON.stringify(answer.body) })
      .where('caller', '=', caller)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .execute();
  },

  /** Frees a key still in flight (a done one keeps its answer). */
  async release(db: Db, caller: string, key: string): Promise<void> {
    await db
      .deleteFrom('idempotency_keys')
      .where('caller', '=', caller)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .execute();
  },

  /** Forgets every key older than `ttlMs` by the database's clock. */
  async deleteOlderThan(db: Db, ttlMs: number): Promise<number> {
    const result = await db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', olderThan(ttlMs))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },
};
