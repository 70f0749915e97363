import { describe, expect, it } from 'vitest';
import { decodeVector, encodeVector } from './vector-codec';

describe('vector codec', () => {
  it('round-trips at float32 precision, from a Uint8Array view at any offset', () => {
    const vector = [0.1, -0.25, 1, 0, -1e-7, 3.5];
    const encoded = encodeVector(vector);
    expect(encoded.byteLength).toBe(24);
    const decoded = decodeVector(encoded);
    for (const [i, x] of decoded.entries()) expect(x).toBeCloseTo(vector[i]!, 6);
    // pg hands back Buffers that are views into a larger pool.
    const pooled = new Uint8Array(40);
    pooled.set(encoded, 8);
    expect(decodeVector(pooled.subarray(8, 32))).toEqual(decoded);
  });
});
