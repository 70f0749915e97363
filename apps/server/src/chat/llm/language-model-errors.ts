import { DomainError } from '@personas/contracts';

/**
 * The provider answered badly or not at all (HTTP 502). The detail names only a short reason: the
 * upstream body may echo the prompt or a key, so it stays on `cause` for server-side logs.
 */
export class LanguageModelFailedError extends DomainError {
  override name = 'LanguageModelFailedError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('BAD_GATEWAY', `The language model failed: ${reason}`);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

/** The provider did not answer within the configured time (HTTP 504). */
export class LanguageModelTimeoutError extends DomainError {
  override name = 'LanguageModelTimeoutError';
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super('GATEWAY_TIMEOUT', `The language model did not answer within ${timeoutMs} ms`);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
