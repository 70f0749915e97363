import { fmix32 } from '../../lib/hash32';

/**
 * An order-independent digest of a set of chunk ids, kept up to date in O(1) as labels come and
 * go, so a persisted index can be checked against Postgres at start without comparing lists.
 * It is the count plus the 32-bit sum and the xor of two independent hashes of each label: a
 * missing, extra or swapped id changes it except with negligible probability.
 */
export class LabelSetDigest {
  private count = 0;
  private sum = 0;
  private xor = 0;

  add(label: number): void {
    this.count++;
    this.sum = (this.sum + hashLabel(label, SUM_SEED)) >>> 0;
    this.xor = (this.xor ^ hashLabel(label, XOR_SEED)) >>> 0;
  }

  remove(label: number): void {
    this.count--;
    this.sum = (this.sum - hashLabel(label, SUM_SEED)) >>> 0;
    this.xor = (this.xor ^ hashLabel(label, XOR_SEED)) >>> 0;
  }

  /** `<count>:<sum>:<xor>`, the hashes as 8 hex digits each. */
  toString(): string {
    return `${this.count}:${hex(this.sum)}:${hex(this.xor)}`;
  }
}

/**
 * The checksum of a set of labels given as a list — what `ChunkVectorSource.fingerprint` returns
 * for the chunk ids it selects, and what `CollectionVectorIndex.checksum()` returns for its own.
 * Each label must appear once.
 */
export function labelSetChecksum(labels: Iterable<number>): string {
  const digest = new LabelSetDigest();
  for (const label of labels) digest.add(label);
  return digest.toString();
}

const SUM_SEED = 0x85ebca6b;
const XOR_SEED = 0x9e3779b9;

/** Both 32-bit halves feed the hash, so ids past 2^32 do not collide with small ones. */
function hashLabel(label: number, seed: number): number {
  const low = label >>> 0;
  const high = Math.floor(label / 0x1_0000_0000) >>> 0;
  return fmix32(low ^ fmix32(high ^ seed));
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
