import { DomainError } from '@personas/contracts';
import { describe, expect, it } from 'vitest';
import { EmbeddingTimeoutError, EmbeddingUpstreamError } from './errors';

describe('embedding errors', () => {
  it('maps embedding failures to the gateway codes the HTTP layers translate', () => {
    const upstream = new EmbeddingUpstreamError('HTTP 500');
    const timeout = new EmbeddingTimeoutError('too slow');
    expect(upstream).toBeInstanceOf(DomainError);
    expect(upstream.code).toBe('BAD_GATEWAY');
    expect(timeout).toBeInstanceOf(DomainError);
    expect(timeout.code).toBe('GATEWAY_TIMEOUT');
  });
});
