/**
 * An order-independent fingerprint of a set of non-negative integer labels (chunk ids), so an
 * index persisted on disk can be checked against the ids in Postgres at start without shipping
 * the ids around. Count, plus the xor and the 32-bit sum of two independent per-label hashes:
 * all three can be updated in O(1) as labels come and go, and a missing, extra or swapped id
 * changes them with overwhelming probability.
 */
export class LabelChecksum {
  private count = 0;
  private xor = 0;
  private sum = 0;

  add(label: number): void {
    this.count++;
    this.xor = (this.xor ^ hashLabel(label, XOR_SEED)) >>> 0;
    this.sum = (this.sum + hashLabel(label, SUM_SEED)) >>> 0;
  }

  delete(label: number): void {
    this.count--;
    this.xor = (this.xor ^ hashLabel(label, XOR_SEED)) >>> 0;
    this.sum = (this.sum - hashLabel(label, SUM_SEED)) >>> 0;
  }

  /** `count:xor:sum`, the hashes as 8 hex digits. */
  toString(): string {
    return `${this.count}:${hex(this.xor)}:${hex(this.sum)}`;
  }
}

/** The checksum of a label set given as a list, e.g. the chunk ids selected from Postgres. */
export function labelSetChecksum(labels: Iterable<number>): string {
  const checksum = new LabelChecksum();
  for (const label of labels) checksum.add(label);
  return checksum.toString();
}

const XOR_SEED = 0x9e3779b9;
const SUM_SEED = 0x85ebca6b;

/** Murmur3's finaliser over both 32-bit halves, so ids above 2^32 hash well too. */
function hashLabel(label: number, seed: number): number {
  const low = label >>> 0;
  const high = Math.floor(label / 0x1_0000_0000) >>> 0;
  return fmix32(low ^ fmix32(high ^ seed));
}

function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
