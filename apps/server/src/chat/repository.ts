import { BadRequestError, decodeCursor, type PageInput, type RagHit } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, timeIdKey, toPage } from '../db/keyset';
import type {
  MessageHistoryRow,
  MessageHistoryRowUpdate,
  MessageRow,
  NewMessageHistoryRow,
} from '../db/schema';

/** `["after" | "before", seq]` from a messages cursor; a 400 for any other cursor. */
function seqKey(cursor: string): { direction: 'after' | 'before'; seq: string } {
  const [direction, seq, ...rest] = decodeCursor(cursor) ?? [];
  if ((direction !== 'after' && direction !== 'before') || !seq || !/^[0-9]{1,18}$/.test(seq)) {
    throw new BadRequestError('The cursor does not belong to this list');
  }
  if (rest.length > 0) throw new BadRequestError('The cursor does not belong to this list');
  return { direction, seq };
}

export const historiesRepository = {
  find(db: Db, id: string): Promise<MessageHistoryRow | undefined> {
    return db.selectFrom('message_histories').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** Newest first, a page (index `message_histories_user_persona_created_id`). */
  async listForUserAndPersona(db: Db, userId: string, personaId: string, page: PageInput) {
    let query = db
      .selectFrom('message_histories')
      .selectAll()
      .select(exactTimestamp('created_at').as('key_at'))
      .where('user_id', '=', userId)
      .where('persona_id', '=', personaId);
    if (page.cursor) {
      const key = timeIdKey(page.cursor, { uuid: true });
      query = query.where(afterTimeId('created_at', 'id', key, 'desc'));
    }
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(fetchSize(page))
      .execute();
    return toPage(rows, page, (r) => [r.key_at, r.id]);
  },

  /**
   * A page of one history's messages, in order. Without a cursor it starts at the oldest and
   * walks forward (`["after", seq]` cursors); a `["before", seq]` cursor — what a history's
   * `messages_next_cursor` holds — gives the messages just before `seq` and walks back towards
   * the oldest. Either way the page reads oldest first. Index `messages_history_seq`.
   */
  async messagesPage(
    db: Db,
    historyId: string,
    page: PageInput,
  ): Promise<{ rows: MessageRow[]; next_cursor: string | null }> {
    const key = page.cursor ? seqKey(page.cursor) : { direction: 'after' as const, seq: '0' };
    const backwards = key.direction === 'before';
    const rows = await db
      .selectFrom('messages')
      .selectAll()
      .where('history_id', '=', historyId)
      .where('seq', backwards ? '<' : '>', key.seq as unknown as number)
      .orderBy('seq', backwards ? 'desc' : 'asc')
      .limit(fetchSize(page))
      .execute();
    const { rows: kept, next_cursor } = toPage(rows, page, (m) => [key.direction, String(m.seq)]);
    return { rows: backwards ? kept.reverse() : kept, next_cursor };
  },

  async messagesOf(db: Db, historyIds: string[]): Promise<MessageRow[]> {
    if (historyIds.length === 0) return [];
    return db
      .selectFrom('messages')
      .selectAll()
      .where('history_id', 'in', historyIds)
      .orderBy('seq')
      .execute();
  },

  /** A first exchange's history. Throws a foreign-key violation if its persona or user is gone. */
  async create(db: Db, h: NewMessageHistoryRow & { id: string }): Promise<void> {
    await db.insertInto('message_histories').values(h).execute();
  },

  /**
   * Locks an existing history; false when it has been deleted meanwhile (never recreated: a
   * deleted history stays deleted). The row lock serializes exchanges into one history, so each
   * user/assistant pair gets consecutive sequence numbers and concurrent chats never interleave.
   */
  async lock(db: Db, id: string): Promise<boolean> {
    const row = await db
      .selectFrom('message_histories')
      .select('id')
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    return row !== undefined;
  },

  async appendExchange(
    db: Db,
    historyId: string,
    exchange: { question: string; answer: string; ragHit: RagHit | null },
  ): Promise<void> {
    // The statement's clock, not the transaction's `now()` (its start: a slow exchange would be
    // stamped before one that began later and committed first), and never before the history's
    // latest message: timestamps follow `seq`, and the answer comes strictly after its question.
    const stamp = sql<Date>`greatest(clock_timestamp(), (select max(m.created_at) + interval '1 microsecond' from messages m where m.history_id = ${historyId}))`;
    for (const message of [
      { role: 'user' as const, content: exchange.question, rag_hit: null },
      {
        role: 'assistant' as const,
        content: exchange.answer,
        rag_hit: exchange.ragHit ? JSON.stringify(exchange.ragHit) : null,
      },
    ]) {
      await db
        .insertInto('messages')
        .values({ history_id: historyId, ...message, created_at: stamp })
        .execute();
    }
    await db
      .updateTable('message_histories')
      .set({ updated_at: sql<Date>`clock_timestamp()` })
      .where('id', '=', historyId)
      .execute();
  },

  async update(
    db: Db,
    id: string,
    changes: Pick<MessageHistoryRowUpdate, 'title' | 'description'>,
  ) {
    await db
      .updateTable('message_histories')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  async delete(db: Db, id: string) {
    await db.deleteFrom('message_histories').where('id', '=', id).execute();
  },
};
