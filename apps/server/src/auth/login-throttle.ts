import { RateLimitedError } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/connect';

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
  return {
    async assertAllowed(email: string, now = new Date()): Promise<void> {
      const since = new Date(now.getTime() - opts.windowMs);
      const failures = await db
        .selectFrom('login_failures')
        .select('failed_at')
        .where('email', '=', email)
        .where('failed_at', '>', since)
        .orderBy('failed_at', 'desc')
        .limit(opts.maxFailures)
        .execute();
      if (failures.length < opts.maxFailures) return;
      const oldestCounted = failures[failures.length - 1]!.failed_at;
      const retryAfterMs = oldestCounted.getTime() + opts.windowMs - now.getTime();
      throw new RateLimitedError(
        'Too many failed login attempts for this email; try again later',
        Math.max(1, Math.ceil(retryAfterMs / 1000)),
      );
    },

    async recordFailure(email: string): Promise<void> {
      await db.insertInto('login_failures').values({ email }).execute();
      // Keep the table small: failures older than the window no longer count for anyone.
      await db
        .deleteFrom('login_failures')
        .where('failed_at', '<', sql<Date>`now() - ${`${opts.windowMs} milliseconds`}::interval`)
        .execute();
    },

    async clear(email: string): Promise<void> {
      await db.deleteFrom('login_failures').where('email', '=', email).execute();
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
