import { DomainError } from '@personas/contracts';

/**
 * A vector's length differs from what its collection was built with: mixing models (or a model
 * whose dimensions changed) would make every distance meaningless, so it is refused.
 */
export class DimensionMismatchError extends DomainError {
  override name = 'DimensionMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
    context: string,
  ) {
    super('BAD_REQUEST', `${context}: expected ${expected} dimensions, got ${actual}`);
  }
}

export type VectorIndexFileProblem = 'missing' | 'truncated' | 'corrupt' | 'mismatch';

/**
 * A persisted index cannot be used. Not a DomainError: no caller can act on it — the index is a
 * cache of Postgres, so the answer is always to rebuild it.
 */
export class VectorIndexFileError extends Error {
  override name = 'VectorIndexFileError';
  constructor(
    readonly problem: VectorIndexFileProblem,
    readonly filePath: string,
    reason: string,
  ) {
    super(`Vector index ${filePath} is ${problem}: ${reason}`);
  }
}
