/** FNV-1a's 32-bit offset basis: the hash of nothing. */
export const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Feeds one Unicode code point, as its UTF-8 bytes, into a running FNV-1a hash. */
export function fnv1aCodePoint(hash: number, codePoint: number): number {
  let h = hash;
  if (codePoint < 0x80) {
    h = Math.imul(h ^ codePoint, FNV_PRIME);
  } else if (codePoint < 0x800) {
    h = Math.imul(h ^ (0xc0 | (codePoint >> 6)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (codePoint & 0x3f)), FNV_PRIME);
  } else if (codePoint < 0x10000) {
    h = Math.imul(h ^ (0xe0 | (codePoint >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((codePoint >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (codePoint & 0x3f)), FNV_PRIME);
  } else {
    h = Math.imul(h ^ (0xf0 | (codePoint >> 18)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((codePoint >> 12) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((codePoint >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (codePoint & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * 32-bit FNV-1a of a string's UTF-8 bytes: tiny, fast and the same on every run and machine,
 * which is what feature hashing needs (stored embeddings must not drift between releases).
 * `basis` lets callers derive independent hash families from one function. Kept as these few
 * lines rather than a hashing package: the function is frozen forever (every stored offline
 * embedding depends on it), so its whole definition belongs in the repository.
 */
export function fnv1a32(text: string, basis = FNV_OFFSET_BASIS): number {
  let h = basis >>> 0;
  for (const char of text) h = fnv1aCodePoint(h, char.codePointAt(0)!);
  return h;
}

/**
 * Murmur3's finaliser. FNV-1a's low bits mix poorly for short inputs; this spreads every input
 * bit over the output before it is reduced to a bucket or a sign.
 */
export function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
