import type { AuditAction, AuditInput } from '@personas/contracts';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, timeIdKey, toPage } from '../db/keyset';
import { currentRequestOrigin } from '../lib/request-origin';

/** One event: who did what to which thing. Where from is read from the request being served. */
export interface AuditRecord {
  actorId: string | null;
  action: AuditAction;
  targetId: string | null;
}

/** The append-only audit trail: rows are inserted and listed, never updated. */
export const auditRepository = {
  /**
   * Appends one event. Pass the transaction that makes the change: the event then commits with
   * it, or rolls back with it.
   */
  async record(db: Db, event: AuditRecord): Promise<void> {
    const origin = currentRequestOrigin();
    await db
      .insertInto('audit_events')
      .values({
        actor_id: event.actorId,
        action: event.action,
        target_type: event.action.slice(0, event.action.indexOf('.')),
        target_id: event.targetId,
        ip: origin?.ip ?? null,
        request_id: origin?.requestId ?? null,
      })
      .execute();
  },

  /** Deletes events older than `ageMs` (the only deletion the trail knows); how many went. */
  async trimOlderThan(db: Db, ageMs: number): Promise<number> {
    const result = await db
      .deleteFrom('audit_events')
      .where('at', '<', new Date(Date.now() - ageMs))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  /** A page newest first, in `(at, id)` order (indexes `audit_events_*_at_id`). */
  async list(db: Db, input: AuditInput) {
    let query = db.selectFrom('audit_events').selectAll().select(exactTimestamp('at').as('key_at'));
    if (input.actor_id) query = query.where('actor_id', '=', input.actor_id);
    if (input.action) query = query.where('action', '=', input.action);
    if (input.cursor) {
      query = query.where(afterTimeId('at', 'id', timeIdKey(input.cursor, { uuid: true }), 'desc'));
    }
    const rows = await query
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(fetchSize(input))
      .execute();
    return toPage(rows, input, (r) => [r.key_at, r.id]);
  },
};
