import { sql } from 'kysely';
import type { Db } from '../db/connect';

/**
 * One class per purpose in Postgres's two-integer advisory key space, which never overlaps the
 * single-bigint space of the per-email login lock: an address whose hash equals an email's can
 * then never make two logins wait on each other in a cycle (email first, address second).
 */
const ADDRESS_LOCK_CLASS = { login: 1, registration: 2 } as const;

/**
 * Holds, until the transaction ends, the lock of one client address for one purpose: shared by
 * every process on the database, so a count and the insert after it are one step per address.
 */
export async function lockAddress(
  trx: Db,
  purpose: keyof typeof ADDRESS_LOCK_CLASS,
  address: string,
): Promise<void> {
  const lockClass = ADDRESS_LOCK_CLASS[purpose];
  await sql`select pg_advisory_xact_lock(${lockClass}::int4, hashtext(${address}))`.execute(trx);
}
