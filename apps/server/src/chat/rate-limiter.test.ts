import { RateLimitedError } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../db/migrate';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { createRateLimiter } from './rate-limiter';

const WINDOW_MS = 60_000;
let database: TestDatabase;
let keys = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  await migrateToLatest(database.db);
});
afterAll(() => database[Symbol.asyncDispose]());

/** A limiter on a clock the test sets: each call happens `ms` after the test began. */
function limiter(limit: number) {
  const start = 1_000_000;
  let clock = start;
  const take = createRateLimiter(database.db, { limit, windowMs: WINDOW_MS, now: () => clock });
  // Every test its own keys: the table is shared by the file.
  const prefix = `t${++keys}-`;
  const takeAt = async (ms: number, key = 'ann') => {
    clock = start + ms;
    await take(prefix + key);
  };
  return {
    takeAt,
    /** The refusal of a take at `ms`; fails the test when the take is allowed. */
    async refusalAt(ms: number, key = 'ann'): Promise<RateLimitedError> {
      try {
        await takeAt(ms, key);
      } catch (error) {
        if (error instanceof RateLimitedError) return error;
        throw error;
      }
      throw new Error(`expected the take at ${ms} ms to be refused`);
    },
  };
}

describe('createRateLimiter', () => {
  it('allows `limit` takes per key in the window and refuses the next with TOO_MANY_REQUESTS', async () => {
    const l = limiter(3);
    for (const ms of [0, 10, 20]) await l.takeAt(ms);
    const error = await l.refusalAt(30);
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toBe('Too many chat messages: at most 3 per 60 seconds');
    // Every key has its own budget.
    await l.takeAt(40, 'bob');
  });

  it('slides: each take leaves the window exactly windowMs after it was made', async () => {
    const l = limiter(2);
    await l.takeAt(0);
    await l.takeAt(20_000);
    await l.refusalAt(WINDOW_MS - 1);
    // The take at 0 has left; the one at 20 s has not.
    await l.takeAt(WINDOW_MS);
    await l.refusalAt(WINDOW_MS);
    await l.takeAt(20_000 + WINDOW_MS);
  });

  it('does not count refused takes against the caller', async () => {
    const l = limiter(1);
    await l.takeAt(0);
    for (const ms of [1_000, 30_000, 59_999]) await l.refusalAt(ms);
    // Had the refusals counted, ann would still be locked out here.
    await l.takeAt(WINDOW_MS);
  });

  it('says to retry when the oldest take in the window leaves it, rounded up to whole seconds', async () => {
    const l = limiter(2);
    await l.takeAt(0);
    await l.takeAt(10_000);
    const retryAfterAt = async (ms: number) => (await l.refusalAt(ms)).retryAfterSeconds;
    expect(await retryAfterAt(10_001)).toBe(50); // 49.999 s left
    expect(await retryAfterAt(58_000)).toBe(2); // exactly 2 s
    expect(await retryAfterAt(58_600)).toBe(2); // 1.4 s: up, not to the nearest second
    expect(await retryAfterAt(59_999)).toBe(1); // 1 ms: never 0, which would invite an instant retry
    // Once the take at 0 has left, the one at 10 s is the oldest.
    await l.takeAt(WINDOW_MS);
    expect(await retryAfterAt(WINDOW_MS + 500)).toBe(10); // 9.5 s
  });

  it('counts the takes of every limiter on the database as one (one per server process), however parallel', async () => {
    const processes = [1, 2, 3].map(() =>
      createRateLimiter(database.db, { limit: 4, windowMs: WINDOW_MS }),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => processes[i % 3]!('shared-user')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(8);
    for (const r of refused) expect(r.reason).toBeInstanceOf(RateLimitedError);
  });
});
