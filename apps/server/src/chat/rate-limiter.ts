import { RateLimitedError } from '@personas/contracts';

/**
 * A sliding-window limit per user, kept in memory: chat is the expensive route, and one process
 * serves it. (A restart forgives everyone, which is acceptable for a cost guard, unlike logins.)
 */
export function createRateLimiter(opts: { limit: number; windowMs: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const hits = new Map<string, number[]>();
  return function take(key: string): void {
    const t = now();
    const recent = (hits.get(key) ?? []).filter((at) => at > t - opts.windowMs);
    if (recent.length >= opts.limit) {
      const retryAfterMs = recent[0]! + opts.windowMs - t;
      hits.set(key, recent);
      throw new RateLimitedError(
        `Too many chat messages: at most ${opts.limit} per ${Math.round(opts.windowMs / 1000)} seconds`,
        Math.max(1, Math.ceil(retryAfterMs / 1000)),
      );
    }
    recent.push(t);
    hits.set(key, recent);
  };
}
