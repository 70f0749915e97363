/**
 * LEB128 unsigned varints: the lexical index's term ids (delta-coded) and frequencies are mostly
 * below 128, so most fit one byte instead of four.
 */
export class VarintWriter {
  private bytes = new Uint8Array(1024);
  private length = 0;

  writeUint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`varint must be a non-negative safe integer, got ${value}`);
    }
    let rest = value;
    // Division rather than bit shifts: shifts would truncate values above 2^31.
    while (rest >= 0x80) {
      this.pushByte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.pushByte(rest);
  }

  writeBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  private pushByte(byte: number): void {
    this.ensure(1);
    this.bytes[this.length++] = byte;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

export class VarintReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  /** Where the next read starts: for a caller that decodes a run of bytes itself. */
  get position(): number {
    return this.offset;
  }

  /** Continues at `position` (forward only, within the bytes), after such a run. */
  skipTo(position: number): void {
    if (position < this.offset || position > this.bytes.length) {
      throw new RangeError('skip out of range');
    }
    this.offset = position;
  }

  readUint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new RangeError('truncated varint');
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('varint too long');
    }
  }

  readBytes(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new RangeError('truncated bytes');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
}
