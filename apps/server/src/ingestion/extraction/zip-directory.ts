/** One entry of a ZIP's central directory, with the sizes it declares (which may lie). */
export interface ZipDirectoryEntry {
  name: string;
  /** 0 stored, 8 deflate; anything else is refused by the guard. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** ZIP64 marks its real values with these; no DOCX we accept is near 4 GB or 65,535 entries. */
const ZIP64_U32 = 0xffffffff;
const ZIP64_U16 = 0xffff;

export function isZipSignature(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Where the end-of-central-directory record starts, searched backwards over the last
 * 64 KiB + 22 bytes (the record ends the file, followed only by a comment); -1 when absent.
 */
export function findEndOfCentralDirectory(bytes: Uint8Array): number {
  const dv = view(bytes);
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = bytes.length - EOCD_SIZE; at >= lowest; at--) {
    if (dv.getUint32(at, true) === EOCD_SIGNATURE) return at;
  }
  return -1;
}

/**
 * The central directory of a whole ZIP file, read without inflating anything: the list a zip bomb
 * check needs before any library expands an entry. `maxEntries` stops the walk early, so a
 * directory claiming a million entries costs nothing. Throws `ZipFormatError` when the structure
 * is broken (truncated, offsets outside the file) and returns `null` when the entry count or a
 * size needs ZIP64 (the caller treats that as too large).
 */
export function readZipDirectory(
  bytes: Uint8Array,
  maxEntries: number,
): { entries: ZipDirectoryEntry[]; totalEntries: number } | null {
  const eocd = findEndOfCentralDirectory(bytes);
  if (eocd === -1) throw new ZipFormatError('no end of central directory record');
  const dv = view(bytes);
  const totalEntries = dv.getUint16(eocd + 10, true);
  const directorySize = dv.getUint32(eocd + 12, true);
  const directoryOffset = dv.getUint32(eocd + 16, true);
  if (totalEntries === ZIP64_U16 || directoryOffset === ZIP64_U32 || directorySize === ZIP64_U32) {
    return null;
  }
  if (directoryOffset + directorySize > eocd) {
    throw new ZipFormatError('central directory outside the file');
  }
  if (totalEntries > maxEntries) return { entries: [], totalEntries };

  const decoder = new TextDecoder();
  const entries: ZipDirectoryEntry[] = [];
  let at = directoryOffset;
  for (let i = 0; i < totalEntries; i++) {
    if (at + 46 > eocd || dv.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      throw new ZipFormatError('broken central directory entry');
    }
    const nameLength = dv.getUint16(at + 28, true);
    const extraLength = dv.getUint16(at + 30, true);
    const commentLength = dv.getUint16(at + 32, true);
    if (at + 46 + nameLength > eocd) throw new ZipFormatError('entry name outside the directory');
    const entry: ZipDirectoryEntry = {
      name: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: dv.getUint16(at + 10, true),
      compressedSize: dv.getUint32(at + 20, true),
      uncompressedSize: dv.getUint32(at + 24, true),
      localHeaderOffset: dv.getUint32(at + 42, true),
    };
    if (
      entry.compressedSize === ZIP64_U32 ||
      entry.uncompressedSize === ZIP64_U32 ||
      entry.localHeaderOffset === ZIP64_U32
    ) {
      return null;
    }
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { entries, totalEntries };
}

/**
 * The names of the local file headers that lie wholly inside `head` (the start of an upload),
 * in order: enough to tell a Word document (`[Content_Types].xml`, `word/…`) from another ZIP
 * before the end of the file, with its central directory, has arrived.
 */
export function localEntryNames(head: Uint8Array): string[] {
  const dv = view(head);
  const decoder = new TextDecoder();
  const names: string[] = [];
  let at = 0;
  while (at + 30 <= head.length && dv.getUint32(at, true) === 0x04034b50) {
    const flags = dv.getUint16(at + 6, true);
    const compressedSize = dv.getUint32(at + 18, true);
    const nameLength = dv.getUint16(at + 26, true);
    const extraLength = dv.getUint16(at + 28, true);
    if (at + 30 + nameLength > head.length) break;
    names.push(decoder.decode(head.subarray(at + 30, at + 30 + nameLength)));
    // With a data descriptor (flag bit 3) the size is only known after the data: stop there.
    if (flags & 0x08) break;
    at += 30 + nameLength + extraLength + compressedSize;
  }
  return names;
}
