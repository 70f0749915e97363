import { DomainError } from '@personas/contracts';

/** The embedding service answered with an HTTP error or with something that is not embeddings. */
export class EmbeddingUpstreamError extends DomainError {
  override name = 'EmbeddingUpstreamError';
  constructor(message: string) {
    super('BAD_GATEWAY', message);
  }
}

/** The embedding service did not answer in time; the caller may retry later. */
export class EmbeddingTimeoutError extends DomainError {
  override name = 'EmbeddingTimeoutError';
  constructor(message: string) {
    super('GATEWAY_TIMEOUT', message);
  }
}
