import { RateLimitedError } from '@personas/contracts';

/**
 * Refuses with 429 when a sliding window is full. `nthNewest` is the limit-th newest event still
 * inside the window (none: there is room); a slot frees once it leaves the window, which is
 * what `Retry-After` says.
 */
export function assertWindowHasRoom(opts: {
  nthNewest: Date | undefined;
  windowMs: number;
  now: Date;
  message: string;
}): void {
  if (!opts.nthNewest) return;
  const retryAfterMs = opts.nthNewest.getTime() + opts.windowMs - opts.now.getTime();
  throw new RateLimitedError(opts.message, Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
