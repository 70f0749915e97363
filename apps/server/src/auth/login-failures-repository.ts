import { sql } from 'kysely';
import type { Db } from '../db/connect';

/** Whose failures to count: one email's (any address), or one address's (any email). */
export type FailuresOf = { email: string } | { address: string };

/** Failed logins per email and per client address: what the login throttle counts. */
export const loginFailuresRepository = {
  /**
   * When the `n`-th newest failure after `since` happened (indexes `login_failures_email_time`
   * and `login_failures_address_time`), or undefined when there are fewer than `n`.
   */
  async nthNewestSince(db: Db, of: FailuresOf, since: Date, n: number): Promise<Date | undefined> {
    const query = db.selectFrom('login_failures').select('failed_at');
    const row = await ('email' in of
      ? query.where('email', '=', of.email)
      : query.where('address', '=', of.address)
    )
      .where('failed_at', '>', since)
      .orderBy('failed_at', 'desc')
      .offset(n - 1)
      .limit(1)
      .executeTakeFirst();
    return row?.failed_at;
  },

  async insert(db: Db, failure: { email: string; address: string }): Promise<void> {
    await db.insertInto('login_failures').values(failure).execute();
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
