import { sql } from 'kysely';
import type { Db } from '../db/connect';

/** Failed logins per email: what the login throttle counts. */
export const loginFailuresRepository = {
  /** When the latest `limit` failures for the email after `since` happened, newest first. */
  async recent(db: Db, email: string, since: Date, limit: number): Promise<Date[]> {
    const rows = await db
      .selectFrom('login_failures')
      .select('failed_at')
      .where('email', '=', email)
      .where('failed_at', '>', since)
      .orderBy('failed_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.failed_at);
  },

  async insert(db: Db, email: string): Promise<void> {
    await db.insertInto('login_failures').values({ email }).execute();
  },

  /** Forgets failures older than `windowMs` by the database's clock. */
  async deleteOlderThan(db: Db, windowMs: number): Promise<void> {
    await db
      .deleteFrom('login_failures')
      .where('failed_at', '<', sql<Date>`now() - ${`${windowMs} milliseconds`}::interval`)
      .execute();
  },

  async deleteForEmail(db: Db, email: string): Promise<void> {
    await db.deleteFrom('login_failures').where('email', '=', email).execute();
  },
};
