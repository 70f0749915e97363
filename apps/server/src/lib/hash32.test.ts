import { describe, expect, it } from 'vitest';
import { FNV_OFFSET_BASIS, fmix32, fnv1a32, fnv1aCodePoint } from './hash32';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    // 'é' is C3 A9 in UTF-8; '😀' is F0 9F 98 80.
    const bytes = (list: number[]) =>
      list.reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, FNV_OFFSET_BASIS);
    expect(fnv1a32('é')).toBe(bytes([0xc3, 0xa9]));
    expect(fnv1a32('€')).toBe(bytes([0xe2, 0x82, 0xac]));
    expect(fnv1a32('😀')).toBe(bytes([0xf0, 0x9f, 0x98, 0x80]));
  });

  it('gives an independent family for another basis', () => {
    expect(fnv1a32('word', 1)).not.toBe(fnv1a32('word'));
    expect(fnv1a32('word', 1)).toBe(fnv1a32('word', 1));
  });

  it('can be fed one code point at a time', () => {
    let h = FNV_OFFSET_BASIS;
    for (const c of 'naïve😀') h = fnv1aCodePoint(h, c.codePointAt(0)!);
    expect(h).toBe(fnv1a32('naïve😀'));
  });
});

describe('fmix32', () => {
  it('is murmur3 fmix32: 0 stays 0 and 1 scrambles to its known value', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
  });

  it('spreads consecutive inputs over both halves of the range', () => {
    const high = Array.from({ length: 1000 }, (_, i) => fmix32(i) >= 0x80000000).filter(Boolean);
    expect(high.length).toBeGreaterThan(400);
    expect(high.length).toBeLessThan(600);
  });
});
