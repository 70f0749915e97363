import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize } from '../../ingestion/embeddings/embedder';
import { seededRandom } from '../../test-support/seeded-random';
import { DimensionMismatchError, VectorIndexFileError } from './errors';
import { labelSetChecksum } from './label-set-checksum';
import { CollectionVectorIndex, prefersExactSearch, type VectorItem } from './vector-index';
import { sidecarPath } from './vector-index-file';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vector-index-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomItems(n: number, dims: number, seed = 1, firstLabel = 0): VectorItem[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    label: firstLabel + i,
    vector: normalize(Array.from({ length: dims }, () => random() - 0.5)),
  }));
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('CollectionVectorIndex', () => {
  it('finds nearest points best first, with both metrics derived from cosine', () => {
    const index = CollectionVectorIndex.create(3);
    index.add([
      { label: 10, vector: [1, 0, 0] },
      { label: 11, vector: normalize([1, 1, 0]) },
      { label: 12, vector: [0, 0, 1] },
      { label: 13, vector: [-1, 0, 0] },
    ]);
    const hits = index.search([1, 0, 0], 4);
    expect(hits.map((h) => h.label)).toEqual([10, 11, 12, 13]);
    const expected = [1, Math.SQRT1_2, 0, -1];
    hits.forEach((hit, i) => {
      expect(hit.cosineSimilarity).toBeCloseTo(expected[i]!, 6);
      expect(hit.euclideanDistance).toBeCloseTo(Math.sqrt(2 - 2 * expected[i]!), 3);
    });
    expect(hits[0]!.euclideanDistance).toBeCloseTo(0, 3);
    expect(hits[3]!.euclideanDistance).toBeCloseTo(2, 6);
  });

  it('clamps k to the live count and answers an empty index with nothing', () => {
    const index = CollectionVectorIndex.create(3);
    expect(index.search([1, 0, 0], 10)).toEqual([]);
    index.add([{ label: 1, vector: [1, 0, 0] }]);
    expect(index.search([1, 0, 0], 10)).toHaveLength(1);
    expect(index.search([1, 0, 0], 0)).toEqual([]);
    expect(index.search([1, 0, 0], Number.NaN)).toEqual([]);
  });

  describe('with a label filter', () => {
    const dims = 16;
    const items = randomItems(4096, dims, 7);
    const index = CollectionVectorIndex.create(dims);
    index.add(items);
    const query = items[0]!.vector;
    /** Every point by exact cosine to the query, best first. */
    const ranked = items
      .map((item) => ({ label: item.label, cosine: dot(item.vector, query) }))
      .sort((a, b) => b.cosine - a.cosine);

    it.each([
      ['scored one by one', 30],
      ['walked in the graph', 300],
    ])('answers a set of allowed points far from the query, %s', (_, size) => {
      expect(prefersExactSearch(size, items.length)).toBe(size === 30);
      // The points farthest from the query: an unfiltered top 10 holds none of them.
      const far = ranked.slice(-size);
      const only = new Set([...far.map((h) => h.label), 999_999]); // an unknown label is skipped
      const hits = index.search(query, 10, only);
      expect(hits.map((h) => h.label)).toEqual(far.slice(0, 10).map((h) => h.label));
      hits.forEach((hit, i) => {
        expect(hit.cosineSimilarity).toBeCloseTo(far[i]!.cosine, 5);
        expect(hit.euclideanDistance).toBeCloseTo(Math.sqrt(2 - 2 * far[i]!.cosine), 5);
      });
      // Never fewer than exist: every allowed point, when k asks for more.
      const all = index.search(query, size + 50, only);
      expect(all.map((h) => h.label).sort((a, b) => a - b)).toEqual(
        far.map((h) => h.label).sort((a, b) => a - b),
      );
      expect(index.search(query, 10, new Set())).toEqual([]);
      expect(index.search(query, 10, new Set([999_999]))).toEqual([]);
    });

    it('skips removed points', () => {
      const copy = CollectionVectorIndex.create(dims);
      copy.add(items.slice(0, 20));
      copy.remove([3]);
      expect(copy.search(query, 10, new Set([3, 4])).map((h) => h.label)).toEqual([4]);
    });

    it('walks the graph for a large allowed set and returns only allowed points', () => {
      const only = new Set(items.filter((i) => i.label % 3 !== 0).map((i) => i.label));
      const hits = index.search(query, 20, only);
      expect(hits).toHaveLength(20);
      expect(hits.every((h) => only.has(h.label))).toBe(true);
      const truth = new Set(
        ranked
          .filter((h) => only.has(h.label))
          .slice(0, 20)
          .map((h) => h.label),
      );
      const recall = hits.filter((h) => truth.has(h.label)).length / 20;
      expect(recall).toBeGreaterThanOrEqual(0.9);
    });
  });

  it('grows past its initial capacity', () => {
    const index = CollectionVectorIndex.create(8, { initialCapacity: 2 });
    const items = randomItems(300, 8);
    index.add(items.slice(0, 1));
    index.add(items.slice(1));
    expect(index.count).toBe(300);
    expect(index.capacity).toBeGreaterThanOrEqual(300);
    for (const item of items.slice(0, 50)) {
      expect(index.search(item.vector, 1)[0]!.label).toBe(item.label);
    }
  });

  it('removes at once, idempotently, and keeps count, labels and checksum in step', () => {
    const index = CollectionVectorIndex.create(8);
    const items = randomItems(50, 8);
    index.add(items);
    expect(index.remove([3, 4, 4, 999])).toBe(2);
    expect(index.remove([3])).toBe(0);
    expect(index.count).toBe(48);
    expect(index.has(3)).toBe(false);
    expect(index.labels().sort((a, b) => a - b)).toEqual(
      items.map((i) => i.label).filter((l) => l !== 3 && l !== 4),
    );
    expect(index.checksum()).toBe(labelSetChecksum(index.labels()));
    const hits = index.search(items[3]!.vector, 48);
    expect(hits).toHaveLength(48);
    expect(hits.map((h) => h.label)).not.toContain(3);
    expect(hits.map((h) => h.label)).not.toContain(4);
  });

  it('replaces the vector of a label added again', () => {
    const index = CollectionVectorIndex.create(3);
    index.add([{ label: 1, vector: [1, 0, 0] }]);
    index.add([{ label: 1, vector: [0, 1, 0] }]);
    expect(index.count).toBe(1);
    expect(index.search([0, 1, 0], 1)[0]!.cosineSimilarity).toBeCloseTo(1, 6);
  });

  it('revives a removed label with its new vector', () => {
    const index = CollectionVectorIndex.create(3);
    index.add([
      { label: 1, vector: [1, 0, 0] },
      { label: 2, vector: [0, 1, 0] },
    ]);
    index.remove([1]);
    index.add([{ label: 1, vector: [0, 0, 1] }]);
    expect(index.count).toBe(2);
    const [hit] = index.search([0, 0, 1], 1);
    expect(hit!.label).toBe(1);
    expect(hit!.cosineSimilarity).toBeCloseTo(1, 6);
    expect(index.checksum()).toBe(labelSetChecksum([1, 2]));
  });

  it('reuses deleted slots for new labels, and still revives a label whose slot was taken', () => {
    const index = CollectionVectorIndex.create(3, { initialCapacity: 2 });
    index.add([
      { label: 1, vector: [1, 0, 0] },
      { label: 2, vector: [0, 1, 0] },
    ]);
    index.remove([1]);
    index.add([{ label: 3, vector: [0, 0, 1] }]); // takes label 1's slot
    expect(index.capacity).toBe(2);
    index.add([{ label: 1, vector: normalize([1, 1, 1]) }]); // its slot is gone: needs a new one
    expect(index.count).toBe(3);
    expect(index.search(normalize([1, 1, 1]), 1)[0]!.label).toBe(1);
    expect(index.search([0, 0, 1], 1)[0]!.label).toBe(3);
    expect(index.checksum()).toBe(labelSetChecksum([1, 2, 3]));
  });

  it('does not grow under churn: replaced documents reuse the slots of removed ones', () => {
    const index = CollectionVectorIndex.create(8, { initialCapacity: 100 });
    let next = 0;
    for (let round = 0; round < 20; round++) {
      const items = randomItems(50, 8, round, next);
      index.add(items);
      next += 50;
      if (round > 0) index.remove(Array.from({ length: 50 }, (_, i) => next - 100 + i));
    }
    expect(index.count).toBe(50);
    expect(index.capacity).toBe(100);
  });

  it('validates every item before adding any', () => {
    const index = CollectionVectorIndex.create(3);
    const good = { label: 1, vector: [1, 0, 0] };
    const attempt = (item: VectorItem) => () => index.add([good, item]);
    expect(attempt({ label: 2, vector: [1, 0] })).toThrow(DimensionMismatchError);
    expect(attempt({ label: -1, vector: [1, 0, 0] })).toThrow(RangeError);
    expect(attempt({ label: 1.5, vector: [1, 0, 0] })).toThrow(RangeError);
    // hnswlib-node would silently truncate this to 5.
    expect(attempt({ label: 2 ** 32 + 5, vector: [1, 0, 0] })).toThrow(RangeError);
    expect(attempt({ label: 2, vector: [1, Number.NaN, 0] })).toThrow(RangeError);
    expect(attempt({ label: 2, vector: new Float32Array(3) as unknown as number[] })).toThrow(
      TypeError,
    );
    expect(index.count).toBe(0);
  });

  it('refuses a query of the wrong size with a BAD_REQUEST error', () => {
    const index = CollectionVectorIndex.create(3);
    index.add([{ label: 1, vector: [1, 0, 0] }]);
    const error = (() => {
      try {
        index.search([1, 0], 1);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DimensionMismatchError);
    expect((error as DimensionMismatchError).code).toBe('BAD_REQUEST');
  });

  it('adds in batches, yielding to the event loop, with the same result as add', async () => {
    const items = randomItems(2000, 16, 7);
    const batched = CollectionVectorIndex.create(16, { initialCapacity: 10 });
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await batched.addInBatches(items, { batchSize: 100 });
    running = false;
    // 2000 points in slices of at most 100 leave the loop free at least 19 times.
    expect(ticks).toBeGreaterThanOrEqual(19);

    const direct = CollectionVectorIndex.create(16, { initialCapacity: 10 });
    direct.add(items);
    expect(batched.count).toBe(2000);
    expect(batched.checksum()).toBe(direct.checksum());
    for (const item of items.slice(0, 100)) {
      expect(batched.search(item.vector, 5)).toEqual(direct.search(item.vector, 5));
    }
  });

  it('rejects a whole batch add when any item is invalid', async () => {
    const index = CollectionVectorIndex.create(4);
    const items = [...randomItems(10, 4), { label: 99, vector: [1, 2, 3] }];
    await expect(index.addInBatches(items)).rejects.toThrow(DimensionMismatchError);
    expect(index.count).toBe(0);
  });

  it('defaults ef to 64 and lets it be changed', () => {
    const index = CollectionVectorIndex.create(3);
    expect(index.ef).toBe(64);
    index.ef = 200;
    expect(index.ef).toBe(200);
    expect(() => {
      index.ef = 0;
    }).toThrow(RangeError);
  });
});

describe('CollectionVectorIndex persistence', () => {
  it('saves and loads the same index: points, removals, ef and slot reuse', async () => {
    const items = randomItems(500, 32, 3);
    const index = CollectionVectorIndex.create(32, { initialCapacity: 16 });
    index.add(items);
    index.remove([5, 6, 7]);
    const file = path.join(dir, 'roundtrip', 'c1.hnsw');
    await index.save(file);

    const loaded = await CollectionVectorIndex.load(file, 32);
    expect(loaded.ef).toBe(64); // hnswlib itself comes back with 10
    expect(loaded.count).toBe(497);
    expect(loaded.checksum()).toBe(index.checksum());
    expect(loaded.has(5)).toBe(false);
    for (const item of items.slice(0, 60)) {
      expect(loaded.search(item.vector, 10)).toEqual(index.search(item.vector, 10));
    }
    const capacity = loaded.capacity;
    loaded.add(randomItems(3, 32, 9, 10_000)); // into the three deleted slots
    expect(loaded.capacity).toBe(capacity);
    loaded.add([{ label: 5, vector: items[5]!.vector }]);
    expect(loaded.search(items[5]!.vector, 1)[0]!.label).toBe(5);
    expect(loaded.count).toBe(501);
  });

  it('replaces the previous file and leaves no temporary files behind', async () => {
    const file = path.join(dir, 'replace', 'c.hnsw');
    const index = CollectionVectorIndex.create(4);
    index.add(randomItems(20, 4));
    await index.save(file);
    index.add(randomItems(20, 4, 2, 100));
    await index.save(file);
    expect((await CollectionVectorIndex.load(file, 4)).count).toBe(40);
    expect((await readdir(path.dirname(file))).sort()).toEqual(['c.hnsw', 'c.hnsw.meta.json']);
  });

  it('saves an empty index', async () => {
    const file = path.join(dir, 'empty.hnsw');
    await CollectionVectorIndex.create(4).save(file);
    const loaded = await CollectionVectorIndex.load(file, 4);
    expect(loaded.count).toBe(0);
    expect(loaded.search([1, 0, 0, 0], 3)).toEqual([]);
  });

  async function loadProblem(file: string, dims = 8): Promise<string> {
    try {
      await CollectionVectorIndex.load(file, dims);
    } catch (error) {
      expect(error).toBeInstanceOf(VectorIndexFileError);
      return (error as VectorIndexFileError).problem;
    }
    throw new Error('expected load to fail');
  }

  async function savedIndex(name: string): Promise<string> {
    const file = path.join(dir, 'damage', name);
    const index = CollectionVectorIndex.create(8);
    index.add(randomItems(200, 8));
    await index.save(file);
    return file;
  }

  it('refuses a missing file', async () => {
    expect(await loadProblem(path.join(dir, 'damage', 'never-saved.hnsw'))).toBe('missing');
  });

  it('refuses a truncated file', async () => {
    const file = await savedIndex('truncated.hnsw');
    await truncate(file, 1000);
    expect(await loadProblem(file)).toBe('truncated');
  });

  it('refuses a file with flipped bytes, which hnswlib itself would load without complaint', async () => {
    const file = await savedIndex('flipped.hnsw');
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(file, bytes);
    expect(await loadProblem(file)).toBe('corrupt');
  });

  it('refuses a file whose header was overwritten, before hnswlib can allocate from it', async () => {
    const file = await savedIndex('header.hnsw');
    const bytes = await readFile(file);
    bytes.writeBigUInt64LE(1n << 40n, 8); // max_elements
    await writeFile(file, bytes);
    expect(await loadProblem(file)).toBe('corrupt');
  });

  it('refuses a file whose sidecar is gone, and one built for other dimensions', async () => {
    const file = await savedIndex('sidecar.hnsw');
    expect(await loadProblem(file, 16)).toBe('mismatch');
    await rm(sidecarPath(file));
    expect(await loadProblem(file)).toBe('corrupt');
  });

  it('refuses a sidecar that disagrees with the labels in the file', async () => {
    const file = await savedIndex('labels.hnsw');
    const sidecar = JSON.parse(await readFile(sidecarPath(file), 'utf8')) as {
      deletedLabels: number[];
    };
    sidecar.deletedLabels = [1];
    await writeFile(sidecarPath(file), JSON.stringify(sidecar));
    expect(await loadProblem(file)).toBe('corrupt');
  });

  it('refuses mutation while saving, and saving while a batch add runs', async () => {
    const index = CollectionVectorIndex.create(8);
    index.add(randomItems(100, 8));
    const saving = index.save(path.join(dir, 'busy.hnsw'));
    expect(() => index.add(randomItems(1, 8, 5, 1000))).toThrow(/being saved/);
    expect(() => index.remove([1])).toThrow(/being saved/);
    await saving;
    index.remove([1]);

    const adding = index.addInBatches(randomItems(2000, 8, 6, 5000), { batchSize: 50 });
    await expect(index.save(path.join(dir, 'busy.hnsw'))).rejects.toThrow(/being added/);
    await adding;
    expect(index.count).toBe(2099);
  });

  it('reports a failed save and stays usable', async () => {
    const blocker = path.join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const index = CollectionVectorIndex.create(4);
    index.add(randomItems(5, 4));
    await expect(index.save(path.join(blocker, 'sub', 'x.hnsw'))).rejects.toThrow();
    index.add(randomItems(5, 4, 3, 100));
    expect(index.count).toBe(10);
  });

  it('keeps search results consistent with exact dot products', () => {
    const items = randomItems(300, 16, 11);
    const index = CollectionVectorIndex.create(16);
    index.add(items);
    const query = items[0]!.vector;
    for (const hit of index.search(query, 10)) {
      expect(hit.cosineSimilarity).toBeCloseTo(dot(query, items[hit.label]!.vector), 5);
    }
  });
});
