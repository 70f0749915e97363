import { RateLimitedError } from '@personas/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/connect';

/** Global sweeps of rows left by callers who never came back: one take in this many. */
const SWEEP_EVERY = 100;

/**
 * A sliding-window limit per user, kept in Postgres so every server process of a deployment
 * counts the same messages: one row per accepted take, counted and written under a transaction
 * advisory lock on the key, so parallel takes through different processes cannot all see room
 * for one more. (Chat is the expensive route; a per-process count multiplied the limit by the
 * number of processes.) Times come from `now` (this process's clock) so a test can set it; the
 * processes of a deployment are expected to keep their clocks in step (NTP).
 */
export function createRateLimiter(
  db: Db,
  opts: { limit: number; windowMs: number; now?: () => number },
) {
  const now = opts.now ?? Date.now;
  let takes = 0;
  return async function take(key: string): Promise<void> {
    const t = now();
    const windowStart = new Date(t - opts.windowMs);
    const sweep = ++takes % SWEEP_EVERY === 0;
    const refusal = await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`chat-rate:${key}`}, 0))`.execute(
        trx,
      );
      await trx
        .deleteFrom('chat_rate_events')
        .where('rate_key', '=', key)
        .where('at', '<=', windowStart)
        .execute();
      const recent = await trx
        .selectFrom('chat_rate_events')
        .select(['at'])
        .where('rate_key', '=', key)
        .orderBy('at')
        .limit(opts.limit)
        .execute();
      if (recent.length >= opts.limit) return recent[0]!.at.getTime();
      await trx
        .insertInto('chat_rate_events')
        .values({ rate_key: key, at: new Date(t) })
        .execute();
      return null;
    });
    if (sweep) {
      await db.deleteFrom('chat_rate_events').where('at', '<=', windowStart).execute();
    }
    if (refusal !== null) {
      const retryAfterMs = refusal + opts.windowMs - t;
      throw new RateLimitedError(
        `Too many chat messages: at most ${opts.limit} per ${Math.round(opts.windowMs / 1000)} seconds`,
        Math.max(1, Math.ceil(retryAfterMs / 1000)),
      );
    }
  };
}
