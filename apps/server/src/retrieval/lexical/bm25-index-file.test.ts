import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25-index';
import { loadBm25Image, removeBm25Image, saveBm25Image } from './bm25-index-file';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'personas-bm25-file-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

function sampleIndex(): Bm25Index {
  const index = new Bm25Index();
  index.add([
    { label: 1, text: 'The harbour master posts the tide tables.' },
    { label: 2, text: 'The ferry leaves from pier four at seven.' },
    { label: 7, text: 'Storm warnings are relayed by the signal tower.' },
  ]);
  index.remove([2]);
  return index;
}

describe('BM25 images', () => {
  it('load as they were saved, with the log position they cover', async () => {
    const file = path.join(directory, 'saved.bm25');
    const index = sampleIndex();
    await saveBm25Image(file, index, 12_345_678_901n);
    const loaded = await loadBm25Image(file);
    expect(loaded?.position).toBe(12_345_678_901n);
    expect(loaded?.index.labels()).toEqual([1, 7]);
    expect(loaded?.index.search('tide tables', 3)).toEqual(index.search('tide tables', 3));
    // Only the image and its sidecar are left: no temporary files.
    expect((await readdir(directory)).filter((n) => n.startsWith('saved'))).toEqual([
      'saved.bm25',
      'saved.bm25.meta.json',
    ]);
  });

  it.each([
    ['missing', async (_file: string) => {}],
    ['truncated', async (file: string) => truncate(file, 10)],
    ['overwritten', async (file: string) => writeFile(file, Buffer.alloc(64, 7))],
    ['without its sidecar', async (file: string) => rm(`${file}.meta.json`)],
  ] as const)('are refused (null, to rebuild) when %s', async (name, damage) => {
    const file = path.join(directory, `${name.replaceAll(' ', '-')}.bm25`);
    if (name !== 'missing') await saveBm25Image(file, sampleIndex(), 5n);
    await damage(file);
    expect(await loadBm25Image(file)).toBeNull();
    await removeBm25Image(file);
  });
});
