import type { RagHit } from '@personas/contracts';
import type { Db } from '../db/connect';
import type {
  MessageHistoryRow,
  MessageHistoryRowUpdate,
  MessageRow,
  NewMessageHistoryRow,
} from '../db/schema';

export const historiesRepository = {
  find(db: Db, id: string): Promise<MessageHistoryRow | undefined> {
    return db.selectFrom('message_histories').selectAll().where('id', '=', id).executeTakeFirst();
  },

  listForUserAndPersona(db: Db, userId: string, personaId: string) {
    return db
      .selectFrom('message_histories')
      .selectAll()
      .where('user_id', '=', userId)
      .where('persona_id', '=', personaId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(200)
      .execute();
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

  /** Creates the history if it does not exist yet (a first exchange), then locks it. */
  async lockOrCreate(db: Db, h: NewMessageHistoryRow & { id: string }): Promise<void> {
    await db
      .insertInto('message_histories')
      .values(h)
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    // The row lock serializes exchanges into one history, so each user/assistant pair gets
    // consecutive sequence numbers and concurrent chats never interleave.
    await db
      .selectFrom('message_histories')
      .select('id')
      .where('id', '=', h.id)
      .forUpdate()
      .execute();
  },

  async appendExchange(
    db: Db,
    historyId: string,
    exchange: { question: string; answer: string; ragHit: RagHit | null },
  ): Promise<void> {
    await db
      .insertInto('messages')
      .values([
        { history_id: historyId, role: 'user', content: exchange.question, rag_hit: null },
        {
          history_id: historyId,
          role: 'assistant',
          content: exchange.answer,
          rag_hit: exchange.ragHit ? JSON.stringify(exchange.ragHit) : null,
        },
      ])
      .execute();
    await db
      .updateTable('message_histories')
      .set({ updated_at: new Date() })
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
