import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { lockAddress } from './address-lock';
import { loginFailuresRepository } from './login-failures-repository';
import { assertWindowHasRoom } from './throttle-window';

export interface LoginThrottleOptions {
  maxFailures: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/** One login attempt: the email it is for and the client address it comes from. */
export interface LoginAttempt {
  email: string;
  address: string;
}

/**
 * Counts failed logins per email and per client address in Postgres (so a restart or a second
 * process does not reset the count). Once `maxFailures` failures for an email, or
 * `maxFailuresPerAddress` from an address (over any emails: password spraying), fall inside the
 * window, every attempt for that email or from that address is refused with 429 until the oldest
 * of them leaves the window — even with the right password.
 */
export function createLoginThrottle(db: Db, opts: LoginThrottleOptions) {
  async function assertAllowedIn(trx: Db, attempt: LoginAttempt, now: Date): Promise<void> {
    const since = new Date(now.getTime() - opts.windowMs);
    const { email, address } = attempt;
    assertWindowHasRoom({
      nthNewest: await loginFailuresRepository.nthNewestSince(
        trx,
        { email },
        since,
        opts.maxFailures,
      ),
      windowMs: opts.windowMs,
      now,
      message: 'Too many failed login attempts for this email; try again later',
    });
    assertWindowHasRoom({
      nthNewest: await loginFailuresRepository.nthNewestSince(
        trx,
        { address },
        since,
        opts.maxFailuresPerAddress,
      ),
      windowMs: opts.windowMs,
      now,
      message: 'Too many failed login attempts from this address; try again later',
    });
  }

  return {
    /**
     * Counts and reserves one attempt atomically, before the password is checked: under
     * transaction-scoped advisory locks on the email, then on the address (always in that order,
     * so two logins never wait on each other in a cycle), shared by every process on the
     * database. However many logins run in parallel, at most `maxFailures` passwords per email
     * and `maxFailuresPerAddress` per address are evaluated per window. The reservation is the
     * failure row; a successful login clears the email's.
     */
    async reserveAttempt(attempt: LoginAttempt, now = new Date()): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${`login:${attempt.email}`}))`.execute(trx);
        await lockAddress(trx, 'login', attempt.address);
        await assertAllowedIn(trx, attempt, now);
        await loginFailuresRepository.insert(trx, attempt);
      });
      // Keep the table small: failures older than the window no longer count for anyone.
      await loginFailuresRepository.deleteOlderThan(db, opts.windowMs);
    },

    /** After a right password: the email's failures (this attempt's reservation with them). */
    async clear(email: string): Promise<void> {
      await loginFailuresRepository.deleteForEmail(db, email);
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
