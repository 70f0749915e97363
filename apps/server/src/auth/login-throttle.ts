import { RateLimitedError } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { loginFailuresRepository } from './login-failures-repository';

export interface LoginThrottleOptions {
  maxFailures: number;
  windowMs: number;
}

/**
 * Counts failed logins per email in Postgres (so a restart or a second process does not reset
 * the count). Once `maxFailures` failures fall inside the window, every attempt for that email is
 * refused with 429 until the oldest of them leaves the window — even with the right password.
 */
export function createLoginThrottle(db: Db, opts: LoginThrottleOptions) {
  async function assertAllowedIn(handle: Db, email: string, now: Date): Promise<void> {
    const since = new Date(now.getTime() - opts.windowMs);
    const failures = await loginFailuresRepository.recent(handle, email, since, opts.maxFailures);
    if (failures.length < opts.maxFailures) return;
    const oldestCounted = failures[failures.length - 1]!;
    const retryAfterMs = oldestCounted.getTime() + opts.windowMs - now.getTime();
    throw new RateLimitedError(
      'Too many failed login attempts for this email; try again later',
      Math.max(1, Math.ceil(retryAfterMs / 1000)),
    );
  }

  return {
    assertAllowed: (email: string, now = new Date()) => assertAllowedIn(db, email, now),

    /**
     * Counts and reserves one attempt for the email atomically (a transaction-scoped advisory
     * lock per email, shared by every process on the database), before the password is checked:
     * however many logins run in parallel, at most `maxFailures` passwords are evaluated per
     * window. The reservation is the failure row; a successful login clears them all.
     */
    async reserveAttempt(email: string, now = new Date()): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${`login:${email}`}))`.execute(trx);
        await assertAllowedIn(trx, email, now);
        await loginFailuresRepository.insert(trx, email);
      });
      await loginFailuresRepository.deleteOlderThan(db, opts.windowMs);
    },

    async recordFailure(email: string): Promise<void> {
      await loginFailuresRepository.insert(db, email);
      // Keep the table small: failures older than the window no longer count for anyone.
      await loginFailuresRepository.deleteOlderThan(db, opts.windowMs);
    },

    async clear(email: string): Promise<void> {
      await loginFailuresRepository.deleteForEmail(db, email);
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
