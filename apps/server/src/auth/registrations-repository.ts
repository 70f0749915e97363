import { sql } from 'kysely';
import type { Db } from '../db/connect';

/**
 * Accounts created per client address: what the registration throttle counts. The address is
 * kept in clear, not hashed: an unkeyed hash of an IPv4 address is reversed by trying all 2^32 of
 * them in minutes, so it would hide nothing, and the rows are gone after the hour anyway.
 */
export const registrationsRepository = {
  /** When the `n`-th newest account from the address after `since` was created, if there is one. */
  async nthNewestSince(db: Db, address: string, since: Date, n: number): Promise<Date | undefined> {
    const row = await db
      .selectFrom('registrations')
      .select('created_at')
      .where('address', '=', address)
      .where('created_at', '>', since)
      .orderBy('created_at', 'desc')
      .offset(n - 1)
      .limit(1)
      .executeTakeFirst();
    return row?.created_at;
  },

  async insert(db: Db, address: string): Promise<void> {
    await db.insertInto('registrations').values({ address }).execute();
  },

  /** Forgets registrations older than `windowMs` by the database's clock. */
  async deleteOlderThan(db: Db, windowMs: number): Promise<void> {
    await db
      .deleteFrom('registrations')
      .where('created_at', '<', sql<Date>`now() - ${`${windowMs} milliseconds`}::interval`)
      .execute();
  },
};
