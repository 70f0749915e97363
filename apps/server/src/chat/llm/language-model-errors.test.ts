import { DomainError } from '@personas/contracts';
import { describe, expect, it } from 'vitest';
import { LanguageModelFailedError, LanguageModelTimeoutError } from './language-model-errors';

describe('language model errors', () => {
  it('a failure is a BAD_GATEWAY domain error that says the language model failed', () => {
    const cause = new Error('upstream body');
    const error = new LanguageModelFailedError('upstream answered HTTP 500', { cause });
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('BAD_GATEWAY');
    expect(error.message).toBe('The language model failed: upstream answered HTTP 500');
    expect(error.cause).toBe(cause);
  });

  it('a timeout is a GATEWAY_TIMEOUT domain error naming the limit', () => {
    const error = new LanguageModelTimeoutError(1500);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('GATEWAY_TIMEOUT');
    expect(error.message).toContain('1500 ms');
    expect(error.cause).toBeUndefined();
  });
});
