import { describe, expect, it } from 'vitest';
import { VarintReader, VarintWriter } from './varint-buffer';

describe('VarintWriter / VarintReader', () => {
  it('round-trips integers up to 2^53 − 1', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
    const writer = new VarintWriter();
    for (const value of values) writer.writeUint(value);
    const reader = new VarintReader(writer.finish());
    expect(values.map(() => reader.readUint())).toEqual(values);
    expect(reader.done).toBe(true);
  });

  it('uses one byte below 128 and LEB128 layout above', () => {
    const writer = new VarintWriter();
    writer.writeUint(5);
    writer.writeUint(300);
    expect(Array.from(writer.finish())).toEqual([5, 0xac, 0x02]);
  });

  it('round-trips raw bytes beyond the initial capacity', () => {
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    const writer = new VarintWriter();
    writer.writeUint(payload.length);
    writer.writeBytes(payload);
    const reader = new VarintReader(writer.finish());
    expect(reader.readBytes(reader.readUint())).toEqual(payload);
  });

  it('rejects values it cannot encode', () => {
    const writer = new VarintWriter();
    expect(() => writer.writeUint(-1)).toThrow(RangeError);
    expect(() => writer.writeUint(1.5)).toThrow(RangeError);
  });

  it('reports truncated input', () => {
    expect(() => new VarintReader(Uint8Array.from([0x80])).readUint()).toThrow(/truncated/);
    expect(() => new VarintReader(Uint8Array.from([1])).readBytes(2)).toThrow(/truncated/);
  });
});
