import { retryAfterOf } from '@personas/contracts';

/**
 * `Retry-After` for the first error of a response that says how long to wait (rate limited, or
 * the database unreachable), for every transport.
 */
export function retryAfterHeaders(errors: readonly { cause?: unknown }[]): Record<string, string> {
  for (const error of errors) {
    const seconds = retryAfterOf(error.cause);
    if (seconds !== undefined) return { 'retry-after': String(seconds) };
  }
  return {};
}
