import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorIndexFileError } from './errors';
import {
  commitIndexFile,
  isTemporaryPath,
  removeFile,
  sha256File,
  sidecarPath,
  temporaryPath,
  verifyIndexFile,
} from './vector-index-file';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vector-index-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fields = {
  dimensions: 3,
  m: 16,
  efConstruction: 100,
  slots: 2,
  count: 2,
  checksum: '2:00000000:00000000',
  deletedLabels: [],
};

async function committed(name: string, content: Buffer): Promise<string> {
  const finalPath = path.join(dir, name);
  const temporary = temporaryPath(finalPath);
  await writeFile(temporary, content);
  await commitIndexFile(temporary, finalPath, fields);
  return finalPath;
}

async function problemOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VectorIndexFileError);
    return (error as VectorIndexFileError).problem;
  }
  throw new Error('expected a VectorIndexFileError');
}

describe('vector index files', () => {
  it('hashes a file with SHA-256', async () => {
    const file = path.join(dir, 'hash-me');
    const content = Buffer.from('hello index');
    await writeFile(file, content);
    expect(await sha256File(file)).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('commits an index with a sidecar that verifies, leaving no temporary files', async () => {
    const content = Buffer.alloc(4096, 7);
    const file = await committed('ok.hnsw', content);
    const sidecar = await verifyIndexFile(file, 3);
    expect(sidecar).toMatchObject({ ...fields, bytes: 4096, format: 'personas-hnsw/1' });
    expect(sidecar.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    const names = await readdir(dir);
    expect(names.filter((n) => n.startsWith('ok.hnsw'))).toEqual(['ok.hnsw', 'ok.hnsw.meta.json']);
  });

  it('reports a missing index as missing', async () => {
    expect(await problemOf(verifyIndexFile(path.join(dir, 'nope.hnsw'), 3))).toBe('missing');
  });

  it('reports a shortened index as truncated and a changed one as corrupt', async () => {
    const truncated = await committed('short.hnsw', Buffer.alloc(1000, 1));
    await truncate(truncated, 400);
    expect(await problemOf(verifyIndexFile(truncated, 3))).toBe('truncated');

    const flipped = await committed('flipped.hnsw', Buffer.alloc(1000, 1));
    const bytes = await readFile(flipped);
    bytes[500] = 2;
    await writeFile(flipped, bytes);
    expect(await problemOf(verifyIndexFile(flipped, 3))).toBe('corrupt');

    const longer = await committed('longer.hnsw', Buffer.alloc(1000, 1));
    await writeFile(longer, Buffer.alloc(1001, 1));
    expect(await problemOf(verifyIndexFile(longer, 3))).toBe('corrupt');
  });

  it('reports a missing or unreadable sidecar as corrupt', async () => {
    const noSidecar = await committed('no-sidecar.hnsw', Buffer.alloc(10, 1));
    await removeFile(sidecarPath(noSidecar));
    expect(await problemOf(verifyIndexFile(noSidecar, 3))).toBe('corrupt');

    const badJson = await committed('bad-json.hnsw', Buffer.alloc(10, 1));
    await writeFile(sidecarPath(badJson), '{"format":');
    expect(await problemOf(verifyIndexFile(badJson, 3))).toBe('corrupt');

    const wrongShape = await committed('wrong-shape.hnsw', Buffer.alloc(10, 1));
    await writeFile(sidecarPath(wrongShape), JSON.stringify({ format: 'other' }));
    expect(await problemOf(verifyIndexFile(wrongShape, 3))).toBe('corrupt');
  });

  it('reports an index built for other dimensions as a mismatch', async () => {
    const file = await committed('dims.hnsw', Buffer.alloc(10, 1));
    expect(await problemOf(verifyIndexFile(file, 384))).toBe('mismatch');
  });

  it('refuses to commit an empty or absent temporary file (hnswlib fails silently)', async () => {
    const empty = path.join(dir, 'empty.tmp');
    await writeFile(empty, '');
    await expect(commitIndexFile(empty, path.join(dir, 'empty.hnsw'), fields)).rejects.toThrow(
      /produced no file/,
    );
    await expect(
      commitIndexFile(path.join(dir, 'absent.tmp'), path.join(dir, 'absent.hnsw'), fields),
    ).rejects.toThrow(/produced no file/);
  });

  it('names temporary files so leftovers can be recognised', () => {
    const t = temporaryPath('/data/indexes/a.hnsw');
    expect(path.dirname(t)).toBe('/data/indexes');
    expect(isTemporaryPath(t)).toBe(true);
    expect(isTemporaryPath('/data/indexes/a.hnsw')).toBe(false);
  });

  it('removes files idempotently', async () => {
    const file = path.join(dir, 'remove-me');
    await writeFile(file, 'x');
    await removeFile(file);
    await removeFile(file);
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
  });
});
