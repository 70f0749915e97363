/**
 * The documents containing one term, as parallel growable typed arrays: a long list costs two
 * contiguous buffers instead of one heap object per entry, and scoring walks it linearly.
 */
export class PostingList {
  slots: Int32Array;
  frequencies: Int32Array;
  length = 0;

  constructor(capacity = 2) {
    this.slots = new Int32Array(capacity);
    this.frequencies = new Int32Array(capacity);
  }

  push(slot: number, frequency: number): void {
    if (this.length === this.slots.length) this.grow();
    this.slots[this.length] = slot;
    this.frequencies[this.length] = frequency;
    this.length++;
  }

  private grow(): void {
    const capacity = Math.max(2, this.slots.length * 2);
    const slots = new Int32Array(capacity);
    const frequencies = new Int32Array(capacity);
    slots.set(this.slots);
    frequencies.set(this.frequencies);
    this.slots = slots;
    this.frequencies = frequencies;
  }
}
