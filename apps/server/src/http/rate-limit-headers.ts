import { retryAfterSecondsOf } from '@personas/contracts';

/** `Retry-After` for the first error of a response that asks to wait, for both transports. */
export function retryAfterHeaders(errors: readonly { cause?: unknown }[]): Record<string, string> {
  for (const error of errors) {
    const seconds = retryAfterSecondsOf(error.cause);
    if (seconds !== undefined) return { 'retry-after': String(seconds) };
  }
  return {};
}
