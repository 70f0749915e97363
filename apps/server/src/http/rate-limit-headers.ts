import { RateLimitedError } from '@personas/contracts';

/** `Retry-After` for the first rate-limited error of a response, for both transports. */
export function retryAfterHeaders(errors: readonly { cause?: unknown }[]): Record<string, string> {
  for (const error of errors) {
    if (error.cause instanceof RateLimitedError) {
      return { 'retry-after': String(error.cause.retryAfterSeconds) };
    }
  }
  return {};
}
