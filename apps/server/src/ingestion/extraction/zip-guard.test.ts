import { describe, expect, it } from 'vitest';
import { makeDocx } from './fixtures/docx';
import { deflateRepeated, writeZip } from './fixtures/zip-writer';
import { guardZip } from './zip-guard';

const LIMITS = { maxExpandedBytes: 8 * 1024 * 1024, maxArchiveEntries: 50 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('guardZip', () => {
  it('passes an honest small archive and lists its entries', async () => {
    const entries = await guardZip(makeDocx([{ text: 'Hi' }]), LIMITS);
    expect(entries.map((e) => e.name)).toContain('word/document.xml');
  });

  it('refuses more entries than allowed', async () => {
    const zip = writeZip(
      Array.from({ length: 51 }, (_, i) => ({ name: `f${i}.txt`, data: new Uint8Array(1) })),
    );
    expect(await codeOf(guardZip(zip, LIMITS))).toBe('too_large');
  });

  it('refuses an archive that declares more than allowed, before inflating', async () => {
    const bomb = await deflateRepeated(0x20, 100 * 1024 * 1024);
    const zip = makeDocx(
      [],
      [{ name: 'word/document.xml', data: new Uint8Array(0), deflated: bomb }],
    );
    expect(zip.length).toBeLessThan(1024 * 1024);
    expect(await codeOf(guardZip(zip, LIMITS))).toBe('too_large');
  });

  it('refuses an archive that lies about its size, and inflating it keeps memory bounded', async () => {
    const bomb = await deflateRepeated(0x20, 100 * 1024 * 1024);
    const zip = makeDocx(
      [],
      [{ name: 'word/document.xml', data: new Uint8Array(0), deflated: bomb, declaredSize: 1000 }],
    );
    const before = process.memoryUsage();
    expect(await codeOf(guardZip(zip, LIMITS))).toBe('too_large');
    const after = process.memoryUsage();
    // It inflated 8 MB before stopping, in 16 KiB chunks dropped as counted (some not yet
    // collected): memory follows the limit, nothing like the bomb's 100 MB.
    expect(after.rss - before.rss).toBeLessThan(40 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(24 * 1024 * 1024);
  });

  it('counts overlapping entries once each, so reusing one payload does not hide it', async () => {
    const payload = await deflateRepeated(0x20, 3 * 1024 * 1024);
    const zip = writeZip([
      { name: 'a', data: new Uint8Array(0), deflated: payload, declaredSize: 1 },
      { name: 'b', data: new Uint8Array(0), deflated: payload, declaredSize: 1 },
      { name: 'c', data: new Uint8Array(0), deflated: payload, declaredSize: 1 },
    ]);
    expect(await codeOf(guardZip(zip, LIMITS))).toBe('too_large');
  });

  it('calls a damaged archive corrupt', async () => {
    const docx = makeDocx([{ text: 'Hi' }]);
    expect(await codeOf(guardZip(docx.subarray(0, docx.length - 30), LIMITS))).toBe('corrupt');
    const garbled = Buffer.from(docx);
    // Overwrite the deflated body of the first entry (after its 30-byte header and name).
    garbled.fill(0xff, 60, 120);
    expect(await codeOf(guardZip(garbled, LIMITS))).toBe('corrupt');
  });
});
