import { DomainError } from '@personas/contracts';
import { describe, expect, it } from 'vitest';
import { DimensionMismatchError, VectorIndexFileError } from './errors';

describe('vector index errors', () => {
  it('names both sizes in a dimension mismatch', () => {
    const err = new DimensionMismatchError(384, 768, 'collection docs');
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toBe('collection docs: expected 384 dimensions, got 768');
    expect([err.expected, err.actual]).toEqual([384, 768]);
  });

  it('keeps index file problems out of the domain errors', () => {
    const err = new VectorIndexFileError('truncated', '/x/a.hnsw', '10 of 20 bytes');
    expect(err).not.toBeInstanceOf(DomainError);
    expect(err.problem).toBe('truncated');
    expect(err.message).toContain('/x/a.hnsw is truncated: 10 of 20 bytes');
  });
});
