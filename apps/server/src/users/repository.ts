import type { Role } from '@personas/contracts';
import type { Db } from '../db/connect';
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

  list(db: Db, page: { limit: number; offset: number }): Promise<UserRow[]> {
    return db
      .selectFrom('users')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
  },

  async setRole(db: Db, id: string, role: Role): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ role, updated_at: new Date() })
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
