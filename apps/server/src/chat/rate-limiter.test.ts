import { RateLimitedError } from '@personas/contracts';
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter';

const WINDOW_MS = 60_000;

/** A limiter on a clock the test sets: each call happens `ms` after the test began. */
function limiter(limit: number) {
  const start = 1_000_000;
  let clock = start;
  const take = createRateLimiter({ limit, windowMs: WINDOW_MS, now: () => clock });
  const takeAt = (ms: number, key = 'ann') => {
    clock = start + ms;
    take(key);
  };
  return {
    takeAt,
    /** The refusal of a take at `ms`; fails the test when the take is allowed. */
    refusalAt(ms: number, key = 'ann'): RateLimitedError {
      try {
        takeAt(ms, key);
      } catch (error) {
        if (error instanceof RateLimitedError) return error;
        throw error;
      }
      throw new Error(`expected the take at ${ms} ms to be refused`);
    },
  };
}

describe('createRateLimiter', () => {
  it('allows `limit` takes per key in the window and refuses the next with TOO_MANY_REQUESTS', () => {
    const l = limiter(3);
    for (const ms of [0, 10, 20]) l.takeAt(ms);
    const error = l.refusalAt(30);
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toBe('Too many chat messages: at most 3 per 60 seconds');
    // Every key has its own budget.
    l.takeAt(40, 'bob');
  });

  it('slides: each take leaves the window exactly windowMs after it was made', () => {
    const l = limiter(2);
    l.takeAt(0);
    l.takeAt(20_000);
    l.refusalAt(WINDOW_MS - 1);
    // The take at 0 has left; the one at 20 s has not.
    l.takeAt(WINDOW_MS);
    l.refusalAt(WINDOW_MS);
    l.takeAt(20_000 + WINDOW_MS);
  });

  it('does not count refused takes against the caller', () => {
    const l = limiter(1);
    l.takeAt(0);
    for (const ms of [1_000, 30_000, 59_999]) l.refusalAt(ms);
    // Had the refusals counted, ann would still be locked out here.
    l.takeAt(WINDOW_MS);
  });

  it('says to retry when the oldest take in the window leaves it, rounded up to whole seconds', () => {
    const l = limiter(2);
    l.takeAt(0);
    l.takeAt(10_000);
    const retryAfterAt = (ms: number) => l.refusalAt(ms).retryAfterSeconds;
    expect(retryAfterAt(10_001)).toBe(50); // 49.999 s left
    expect(retryAfterAt(58_000)).toBe(2); // exactly 2 s
    expect(retryAfterAt(58_600)).toBe(2); // 1.4 s: up, not to the nearest second
    expect(retryAfterAt(59_999)).toBe(1); // 1 ms: never 0, which would invite an instant retry
    // Once the take at 0 has left, the one at 10 s is the oldest.
    l.takeAt(WINDOW_MS);
    expect(retryAfterAt(WINDOW_MS + 500)).toBe(10); // 9.5 s
  });
});
