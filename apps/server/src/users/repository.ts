import type { OffsetPageInput, Role } from '@personas/contracts';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, timeIdKey, toPage } from '../db/keyset';
import type { NewUserRow, UserRow } from '../db/schema';

/** Repositories take the handle first, so they run the same inside a transaction. */
export const usersRepository = {
  findById(db: Db, id: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findByEmail(db: Db, email: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  },

  /** Inserts unless the email is taken; returns undefined when it is (no exception to catch). */
  insert(db: Db, user: NewUserRow): Promise<UserRow | undefined> {
    return db
      .insertInto('users')
      .values(user)
      .onConflict((oc) => oc.column('email').doNothing())
      .returningAll()
      .executeTakeFirst();
  },

  /** A page in `(created_at, id)` order (index `users_created_at_id`); `offset` is deprecated. */
  async list(
    db: Db,
    page: OffsetPageInput,
  ): Promise<{ rows: UserRow[]; next_cursor: string | null }> {
    let query = db
      .selectFrom('users')
      .selectAll()
      .select(exactTimestamp('created_at').as('key_at'));
    if (page.cursor) {
      query = query.where(afterTimeId('created_at', 'id', timeIdKey(page.cursor, { uuid: true })));
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(fetchSize(page))
      .offset(page.offset ?? 0)
      .execute();
    const { rows: kept, next_cursor } = toPage(rows, page, (r) => [r.key_at, r.id]);
    return { rows: kept.map(({ key_at: _, ...row }) => row), next_cursor };
  },

  async setRole(db: Db, id: string, role: Role): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ role, updated_at: new Date() })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Whether any account is an admin (start-up warns when none is). */
  async anyAdmin(db: Db): Promise<boolean> {
    const row = await db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  },

  /** null: the server's default limit applies again. */
  async setDailyTokenLimit(db: Db, id: string, limit: number | null): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ daily_token_limit: limit, updated_at: new Date() })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async setPasswordHash(db: Db, id: string, passwordHash: string): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: new Date() })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Everything the user owns goes with them (ON DELETE CASCADE), in the same statement. */
  async delete(db: Db, id: string): Promise<boolean> {
    const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  },
};
