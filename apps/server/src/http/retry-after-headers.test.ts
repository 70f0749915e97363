import { ConflictError, RateLimitedError, ServiceUnavailableError } from '@personas/contracts';
import { describe, expect, it } from 'vitest';
import { retryAfterHeaders } from './retry-after-headers';

describe('retryAfterHeaders', () => {
  it('says how long to wait for a rate limit and for an unavailable service', () => {
    expect(retryAfterHeaders([{ cause: new RateLimitedError('slow down', 7) }])).toEqual({
      'retry-after': '7',
    });
    expect(
      retryAfterHeaders([
        { cause: new ConflictError('taken') },
        { cause: new ServiceUnavailableError('database down', 2) },
      ]),
    ).toEqual({ 'retry-after': '2' });
  });

  it('sets nothing for other errors', () => {
    expect(retryAfterHeaders([{ cause: new ConflictError('taken') }, {}])).toEqual({});
  });
});
