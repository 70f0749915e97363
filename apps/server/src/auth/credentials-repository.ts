import type { PageInput, Role, Scope } from '@personas/contracts';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, timeIdKey, toPage } from '../db/keyset';
import type { NewApiKeyRow, NewSessionRow } from '../db/schema';

export interface CredentialOwner {
  user_id: string;
  email: string;
  role: Role;
  secret_hash: Uint8Array;
  expires_at: Date | null;
}

export const sessionsRepository = {
  async insert(db: Db, session: NewSessionRow) {
    await db.insertInto('sessions').values(session).execute();
  },

  /** The session with its user's current email and role, read together in one query. */
  findWithOwner(db: Db, id: string): Promise<CredentialOwner | undefined> {
    return db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.user_id',
        'users.email',
        'users.role',
        'sessions.secret_hash',
        'sessions.expires_at',
      ])
      .where('sessions.id', '=', id)
      .executeTakeFirst();
  },

  async extend(db: Db, id: string, expiresAt: Date) {
    await db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', id).execute();
  },

  async delete(db: Db, id: string) {
    await db.deleteFrom('sessions').where('id', '=', id).execute();
  },

  /** Ends every session of a user (a password reset signs them out everywhere). */
  async deleteAllOfUser(db: Db, userId: string) {
    await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  },
};

export const apiKeysRepository = {
  async insert(db: Db, key: NewApiKeyRow) {
    return db
      .insertInto('api_keys')
      .values(key)
      .returning(['id', 'name', 'created_at', 'expires_at', 'scopes', 'persona_ids'])
      .executeTakeFirstOrThrow();
  },

  findWithOwner(
    db: Db,
    id: string,
  ): Promise<
    | (CredentialOwner & {
        last_used_at: Date | null;
        scopes: Scope[] | null;
        persona_ids: string[] | null;
      })
    | undefined
  > {
    return db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select([
        'api_keys.user_id',
        'users.email',
        'users.role',
        'api_keys.secret_hash',
        'api_keys.expires_at',
        'api_keys.last_used_at',
        'api_keys.scopes',
        'api_keys.persona_ids',
      ])
      .where('api_keys.id', '=', id)
      .executeTakeFirst();
  },

  /** A page in `(created_at, id)` order (index `api_keys_user_created_at_id`). */
  async listForUser(db: Db, userId: string, page: PageInput) {
    let query = db
      .selectFrom('api_keys')
      .select(['id', 'name', 'created_at', 'expires_at', 'last_used_at', 'scopes', 'persona_ids'])
      .select(exactTimestamp('created_at').as('key_at'))
      .where('user_id', '=', userId);
    if (page.cursor) {
      query = query.where(afterTimeId('created_at', 'id', timeIdKey(page.cursor, { uuid: false })));
    }
    const rows = await query.orderBy('created_at').orderBy('id').limit(fetchSize(page)).execute();
    return toPage(rows, page, (r) => [r.key_at, r.id]);
  },

  async touch(db: Db, id: string, at: Date) {
    await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  },

  /** Deletes only the owner's key; someone else's key id simply matches nothing. */
  async deleteOwned(db: Db, id: string, userId: string): Promise<boolean> {
    const result = await db
      .deleteFrom('api_keys')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },
};
