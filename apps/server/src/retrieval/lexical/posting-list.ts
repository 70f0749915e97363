/**
 * The largest term frequency a posting holds: frequencies are 16 bits, two bytes a posting fewer
 * than 32. A chunk is ~1 KB of text, so no term comes near 65 535 occurrences in one; a larger
 * count is clamped to this (by `Bm25Index`, in the one place every chunk passes through, so its
 * postings, forward index and image all hold the same value). Past a few occurrences BM25's
 * saturation makes the difference invisible anyway.
 */
export const MAX_TERM_FREQUENCY = 0xffff;

/**
 * The documents containing one term, as parallel growable typed arrays: a long list costs two
 * contiguous buffers instead of one heap object per entry, and scoring walks it linearly.
 */
export class PostingList {
  slots: Int32Array;
  /** At most `MAX_TERM_FREQUENCY`: a larger value would wrap, so callers clamp. */
  frequencies: Uint16Array;
  length = 0;

  constructor(capacity = 2) {
    this.slots = new Int32Array(capacity);
    this.frequencies = new Uint16Array(capacity);
  }

  push(slot: number, frequency: number): void {
    if (this.length === this.slots.length) this.grow();
    this.slots[this.length] = slot;
    this.frequencies[this.length] = frequency;
    this.length++;
  }

  /** Drops the spare capacity, for a list that is done growing for now (after a load). */
  trim(): void {
    if (this.slots.length === this.length) return;
    this.slots = this.slots.slice(0, this.length);
    this.frequencies = this.frequencies.slice(0, this.length);
  }

  private grow(): void {
    // 1.5× rather than 2×: a list has about a fifth of its length spare instead of a third, and
    // lists hold most of the index's memory. Still amortised O(1) a push.
    const capacity = Math.max(4, Math.ceil(this.slots.length * 1.5));
    const slots = new Int32Array(capacity);
    const frequencies = new Uint16Array(capacity);
    slots.set(this.slots);
    frequencies.set(this.frequencies);
    this.slots = slots;
    this.frequencies = frequencies;
  }
}
