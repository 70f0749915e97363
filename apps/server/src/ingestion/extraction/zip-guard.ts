import { createInflateRaw } from 'node:zlib';
import { ExtractionError, type ExtractionLimits } from './types';
import { readZipDirectory, type ZipDirectoryEntry, ZipFormatError } from './zip-directory';

const LOCAL_SIGNATURE = 0x04034b50;

/**
 * Checks a ZIP before any library inflates it, so a zip bomb is `too_large` and never an
 * out-of-memory: first what the central directory declares (entry count, total uncompressed
 * size), then — because declared sizes can lie — what the entries really inflate to, streamed
 * through zlib and counted, never held: memory stays at zlib's window and one 16 KiB chunk however
 * large the output. Overlapping entries (the "better zip bomb") are counted once per entry, so
 * they cannot hide either. Returns the directory for the caller's own checks.
 */
export async function guardZip(
  bytes: Uint8Array,
  limits: Pick<ExtractionLimits, 'maxExpandedBytes' | 'maxArchiveEntries'>,
): Promise<ZipDirectoryEntry[]> {
  let directory: ReturnType<typeof readZipDirectory>;
  try {
    directory = readZipDirectory(bytes, limits.maxArchiveEntries);
  } catch (err) {
    if (err instanceof ZipFormatError) throw corrupt(err.message);
    throw err;
  }
  if (directory === null) {
    throw new ExtractionError('too_large', 'The archive needs ZIP64: it is far too large');
  }
  if (directory.totalEntries > limits.maxArchiveEntries) {
    throw new ExtractionError(
      'too_large',
      `The archive holds ${directory.totalEntries} entries, more than ${limits.maxArchiveEntries}`,
    );
  }
  const declared = directory.entries.reduce((sum, e) => sum + e.uncompressedSize, 0);
  if (declared > limits.maxExpandedBytes) throw tooLarge(limits.maxExpandedBytes);

  let budget = limits.maxExpandedBytes;
  for (const entry of directory.entries) {
    budget -= await inflatedSize(bytes, entry, budget, limits.maxExpandedBytes);
  }
  return directory.entries;
}

function corrupt(why: string): ExtractionError {
  return new ExtractionError('corrupt', `The archive is damaged (${why})`);
}

function tooLarge(max: number): ExtractionError {
  return new ExtractionError('too_large', `The archive expands to more than ${max} bytes`);
}

/** The real size of an entry's data, or `too_large` as soon as it passes `budget`. */
async function inflatedSize(
  bytes: Uint8Array,
  entry: ZipDirectoryEntry,
  budget: number,
  max: number,
): Promise<number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || dv.getUint32(at, true) !== LOCAL_SIGNATURE) {
    throw corrupt(`no local header for ${entry.name}`);
  }
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw corrupt(`${entry.name} runs past the end of the file`);
  const data = bytes.subarray(start, end);
  if (entry.method === 0) {
    if (data.length > budget) throw tooLarge(max);
    return data.length;
  }
  if (entry.method !== 8) throw corrupt(`${entry.name} uses compression method ${entry.method}`);

  return new Promise<number>((resolve, reject) => {
    const inflate = createInflateRaw();
    let total = 0;
    let settled = false;
    const fail = (err: ExtractionError) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      reject(err);
    };
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > budget) fail(tooLarge(max));
    });
    inflate.on('error', (err) => fail(corrupt(`${entry.name}: ${err.message}`)));
    inflate.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(total);
    });
    inflate.end(data);
  });
}
