import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { removeFile, temporaryPath } from '../vector/vector-index-file';
import { Bm25FormatError, Bm25Index } from './bm25-index';

const FORMAT = 'personas-bm25/1';

/** Written next to `<name>.bm25` as `<name>.bm25.meta.json`: what the image is checked against. */
const sidecarSchema = z.object({
  format: z.literal(FORMAT),
  /** The change-log position the image covers (xid8, decimal): a start replays the log from it. */
  position: z.string().regex(/^[0-9]{1,20}$/),
  count: z.number().int().nonnegative(),
  checksum: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const sidecarPath = (imagePath: string) => `${imagePath}.meta.json`;

/**
 * Saves a BM25 index's image as a checkpoint of the change log: a start loads it and replays the
 * log from `position` instead of re-reading and re-tokenizing every chunk. Written like the vector
 * index files: temporary files flushed, then renamed over the old pair; a crash between the two
 * renames leaves a pair whose hashes disagree, which `loadBm25Image` refuses.
 */
export async function saveBm25Image(
  imagePath: string,
  index: Bm25Index,
  position: bigint,
): Promise<void> {
  // Taken at once (synchronously), so the image and its count and checksum agree.
  const bytes = index.toBinary();
  const sidecar = {
    format: FORMAT,
    position: position.toString(),
    count: index.count,
    checksum: index.checksum(),
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  } satisfies z.input<typeof sidecarSchema>;
  await mkdir(path.dirname(imagePath), { recursive: true });
  const temporaryImage = temporaryPath(imagePath);
  const temporarySidecar = temporaryPath(sidecarPath(imagePath));
  try {
    await writeFlushed(temporaryImage, bytes);
    await writeFlushed(temporarySidecar, JSON.stringify(sidecar));
    await rename(temporaryImage, imagePath);
    await rename(temporarySidecar, sidecarPath(imagePath));
    const directory = await open(path.dirname(imagePath), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } finally {
    await removeFile(temporaryImage);
    await removeFile(temporarySidecar);
  }
}

/**
 * Loads an image `saveBm25Image` wrote and the log position it covers; null when it is missing,
 * damaged or of another format (the caller rebuilds from the table).
 */
export async function loadBm25Image(
  imagePath: string,
): Promise<{ index: Bm25Index; position: bigint } | null> {
  let sidecar: z.output<typeof sidecarSchema>;
  let bytes: Buffer;
  try {
    sidecar = sidecarSchema.parse(JSON.parse(await readFile(sidecarPath(imagePath), 'utf8')));
    bytes = await readFile(imagePath);
  } catch {
    return null;
  }
  if (
    bytes.length !== sidecar.bytes ||
    createHash('sha256').update(bytes).digest('hex') !== sidecar.sha256
  ) {
    return null;
  }
  let index: Bm25Index;
  try {
    index = Bm25Index.fromBinary(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (error) {
    if (error instanceof Bm25FormatError || error instanceof RangeError) return null;
    throw error;
  }
  if (index.count !== sidecar.count || index.checksum() !== sidecar.checksum) return null;
  return { index, position: BigInt(sidecar.position) };
}

/** Deletes an image and its sidecar; missing ones are fine. */
export async function removeBm25Image(imagePath: string): Promise<void> {
  await removeFile(imagePath);
  await removeFile(sidecarPath(imagePath));
}

async function writeFlushed(filePath: string, data: Uint8Array | string): Promise<void> {
  await writeFile(filePath, data);
  const handle = await open(filePath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
