import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { normalize } from '../../ingestion/embeddings/embedder';
import { seededRandom } from '../../test-support/seeded-random';
import { DimensionMismatchError } from './errors';
import { labelSetChecksum } from './label-set-checksum';
import type { VectorItem } from './vector-index';
import { sidecarPath } from './vector-index-file';
import { type ChunkVectorSource, VectorIndexStore } from './vector-index-store';

const DIMS = 16;
const random = seededRandom(99);
const randomVector = () => normalize(Array.from({ length: DIMS }, () => random() - 0.5));

/** The chunks table, in memory: what Postgres would answer. */
class FakeChunkSource implements ChunkVectorSource {
  readonly collections = new Map<string, Map<number, number[]>>();
  readonly reads: string[] = [];
  log?: ChunkVectorSource['log'];

  put(collectionId: string, items: VectorItem[]): void {
    const chunks = this.collections.get(collectionId) ?? new Map<number, number[]>();
    for (const { label, vector } of items) chunks.set(label, [...vector]);
    this.collections.set(collectionId, chunks);
  }

  delete(collectionId: string, labels: number[]): void {
    for (const label of labels) this.collections.get(collectionId)?.delete(label);
  }

  async collectionIds(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  async dimensions(): Promise<number> {
    return DIMS;
  }

  async fingerprint(collectionId: string): Promise<{ count: number; checksum: string }> {
    const labels = [...(this.collections.get(collectionId)?.keys() ?? [])];
    return { count: labels.length, checksum: labelSetChecksum(labels) };
  }

  async *vectors(collectionId: string, batchSize: number): AsyncIterable<VectorItem[]> {
    this.reads.push(collectionId);
    const rows = [...(this.collections.get(collectionId) ?? new Map<number, number[]>())]
      .sort(([a], [b]) => a - b)
      .map(([label, vector]) => ({ label, vector }));
    for (let i = 0; i < rows.length; i += batchSize) yield rows.slice(i, i + batchSize);
  }
}

/** Each collection's index file and its sidecar, as they are named on disk. */
const filesOf = (...collectionIds: string[]) =>
  collectionIds.flatMap((id) => [`${id}.hnsw`, `${id}.hnsw.meta.json`]);

function makeChunks(first: number, n: number): VectorItem[] {
  return Array.from({ length: n }, (_, i) => ({ label: first + i, vector: randomVector() }));
}

const queries = Array.from({ length: 20 }, randomVector);
// Generous: these wait for a background write, and a loaded CI machine may be slow to get to it.
const WAIT = { timeout: 20_000, interval: 10 };

let dir = '';
let source: FakeChunkSource;
const stores: VectorIndexStore[] = [];
/** Background write failures of the stores `newStore` made: none is expected. */
const backgroundErrors: unknown[] = [];

function newStore(persistDelayMs: number | null = null): VectorIndexStore {
  const store = new VectorIndexStore({
    directory: dir,
    source,
    persistDelayMs,
    rebuildBatchSize: 64,
    onPersistError: (error) => backgroundErrors.push(error),
  });
  stores.push(store);
  return store;
}

function snapshot(store: VectorIndexStore, collectionId: string) {
  return queries.map((q) => store.search(collectionId, q, 5));
}

beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'vector-index-store-')), 'indexes');
  source = new FakeChunkSource();
  source.put('alpha', makeChunks(1, 300));
  source.put('beta', makeChunks(1000, 40));
  source.collections.set('empty', new Map());
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  expect(backgroundErrors.splice(0)).toEqual([]);
  await rm(path.dirname(dir), { recursive: true, force: true });
});

describe('VectorIndexStore.openAll', () => {
  it('builds missing indexes from the source and saves them', async () => {
    const store = newStore();
    const report = await store.openAll();
    expect(report.rebuilt.sort()).toEqual(['alpha', 'beta', 'empty']);
    expect(report.loaded).toEqual([]);
    expect(report.reasons.alpha).toBe('missing');
    expect(store.get('alpha')!.count).toBe(300);
    expect(store.get('empty')!.count).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(filesOf('alpha', 'beta', 'empty'));
  });

  it('reuses persisted indexes that match the source, without reading vectors', async () => {
    const first = newStore();
    await first.openAll();
    const before = snapshot(first, 'alpha');
    await first.close();
    source.reads.length = 0;

    const second = newStore();
    const report = await second.openAll();
    expect(report.loaded.sort()).toEqual(['alpha', 'beta', 'empty']);
    expect(report.rebuilt).toEqual([]);
    expect(source.reads).toEqual([]);
    expect(snapshot(second, 'alpha')).toEqual(before);
    expect(second.get('alpha')!.ef).toBe(64);
  });

  it('rebuilds a deleted, truncated or corrupted index to the same search results', async () => {
    const first = newStore();
    await first.openAll();
    const before = { alpha: snapshot(first, 'alpha'), beta: snapshot(first, 'beta') };
    await first.close();

    await rm(path.join(dir, 'alpha.hnsw'));
    await truncate(path.join(dir, 'beta.hnsw'), 2000);
    const second = newStore();
    const report = await second.openAll();
    expect(report.rebuilt.sort()).toEqual(['alpha', 'beta']);
    expect(report.reasons.alpha).toBe('missing');
    expect(report.reasons.beta).toMatch(/^damaged: .*truncated/);
    expect(snapshot(second, 'alpha')).toEqual(before.alpha);
    expect(snapshot(second, 'beta')).toEqual(before.beta);
    await second.close();

    const file = path.join(dir, 'alpha.hnsw');
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0x55;
    await writeFile(file, bytes);
    const third = newStore();
    const again = await third.openAll();
    expect(again.rebuilt).toEqual(['alpha']);
    expect(again.reasons.alpha).toMatch(/^damaged: .*corrupt/);
    expect(snapshot(third, 'alpha')).toEqual(before.alpha);
  });

  it('repairs an index that missed chunks committed just before a crash', async () => {
    const first = newStore();
    await first.openAll();
    // Committed to Postgres and added in memory, but the process dies before the index is saved.
    const late = makeChunks(5000, 3);
    source.put('alpha', late);
    await first.add('alpha', late);
    stores.pop(); // never closed: its unsaved state is lost

    const second = newStore();
    const report = await second.openAll();
    expect(report.rebuilt).toEqual(['alpha']);
    expect(report.reasons.alpha).toBe('stale: the index holds 300 chunks, the database 303');
    expect(second.search('alpha', late[1]!.vector, 1)[0]!.label).toBe(5001);
  });

  it('notices the same number of chunks with different ids', async () => {
    const first = newStore();
    await first.openAll();
    await first.close();
    source.delete('beta', [1000]);
    source.put('beta', makeChunks(9999, 1));
    const second = newStore();
    const report = await second.openAll();
    expect(report.reasons.beta).toBe(
      'stale: the index holds 40 chunks, the database 40 (different ids)',
    );
    expect(second.get('beta')!.has(9999)).toBe(true);
    expect(second.get('beta')!.has(1000)).toBe(false);
  });

  it('deletes files of collections that are gone and unfinished temporary files', async () => {
    const first = newStore();
    await first.openAll();
    await first.close();
    source.collections.delete('beta');
    await writeFile(path.join(dir, 'alpha.hnsw.tmp-123-0f8fad5b-d9cb-469f-a165-70867728950e'), 'x');
    await writeFile(path.join(dir, 'README.txt'), 'not ours');
    const second = newStore();
    const report = await second.openAll();
    expect(report.removedFiles).toEqual([
      'alpha.hnsw.tmp-123-0f8fad5b-d9cb-469f-a165-70867728950e',
      ...filesOf('beta'),
    ]);
    expect((await readdir(dir)).sort()).toEqual(['README.txt', ...filesOf('alpha', 'empty')]);
  });

  it('can be opened only once', async () => {
    const store = newStore();
    await store.openAll();
    await expect(store.openAll()).rejects.toThrow(/already/);
  });
});

describe('VectorIndexStore changes', () => {
  it('takes removed chunks out of search at once', async () => {
    const store = newStore();
    await store.openAll();
    const target = source.collections.get('alpha')!.get(7)!;
    expect(store.search('alpha', target, 1)[0]!.label).toBe(7);
    expect(await store.remove('alpha', [7, 8, 123_456])).toBe(2);
    expect(store.search('alpha', target, 300).map((h) => h.label)).not.toContain(7);
    expect(store.get('alpha')!.count).toBe(298);
    expect(await store.remove('no-such-collection', [1])).toBe(0);
  });

  it('creates the index of a new collection on first add, and refuses other dimensions', async () => {
    const store = newStore();
    await store.openAll();
    await store.add('gamma', makeChunks(1, 5));
    expect(store.get('gamma')!.dimensions).toBe(DIMS);
    expect(store.search('gamma', randomVector(), 10)).toHaveLength(5);
    expect(store.search('unknown', randomVector(), 10)).toEqual([]);
    expect(() => store.ensure('gamma', 384)).toThrow(DimensionMismatchError);
    await expect(store.add('gamma', [{ label: 9, vector: [1, 0, 0] }])).rejects.toThrow(
      DimensionMismatchError,
    );
  });

  it('writes changes only when asked when there is no persist delay, and on close', async () => {
    const store = newStore(null);
    await store.openAll();
    const sidecar = async () =>
      JSON.parse(await readFile(sidecarPath(store.filePath('beta')), 'utf8')) as { count: number };
    const extra = makeChunks(2000, 2);
    source.put('beta', extra);
    await store.add('beta', extra);
    expect((await sidecar()).count).toBe(40);
    expect(await store.persist('beta')).toBe(true);
    expect((await sidecar()).count).toBe(42);
    expect(await store.persist('beta')).toBe(false);

    source.delete('beta', [2000]);
    await store.remove('beta', [2000]);
    await store.close();
    expect((await sidecar()).count).toBe(41);
    const reopened = newStore();
    expect((await reopened.openAll()).loaded).toContain('beta');
  });

  it('writes changes in the background after the persist delay', async () => {
    const store = newStore(1);
    await store.openAll();
    await store.add('beta', makeChunks(3000, 1));
    await vi.waitFor(async () => {
      const sidecar = JSON.parse(await readFile(sidecarPath(store.filePath('beta')), 'utf8'));
      expect(sidecar.count).toBe(41);
    }, WAIT);
  });

  it('reports a failed background write', async () => {
    const errors: string[] = [];
    const store = new VectorIndexStore({
      directory: dir,
      source,
      persistDelayMs: 1,
      onPersistError: (error, id) => errors.push(`${id}: ${(error as Error).message}`),
    });
    stores.push(store);
    await store.openAll();
    // A directory where the index file should go: the final rename must fail.
    await rm(store.filePath('beta'));
    await mkdir(path.join(store.filePath('beta'), 'blocker'), { recursive: true });
    await store.add('beta', makeChunks(4000, 1));
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatch(/^beta: /);
    await rm(store.filePath('beta'), { recursive: true });
  });

  it('drops a collection with its files', async () => {
    const store = newStore();
    await store.openAll();
    await store.drop('beta');
    expect(store.get('beta')).toBeUndefined();
    expect(store.search('beta', randomVector(), 3)).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.startsWith('beta'))).toEqual([]);
  });

  it('refuses collection ids that are not safe file names', async () => {
    const store = newStore();
    await store.openAll();
    expect(() => store.filePath('../etc/passwd')).toThrow(RangeError);
    await expect(async () => store.add('a/b', makeChunks(1, 1))).rejects.toThrow(RangeError);
  });

  it('refuses work after close', async () => {
    const store = newStore();
    await store.openAll();
    await store.close();
    await expect(async () => store.add('alpha', makeChunks(1, 1))).rejects.toThrow(/closed/);
  });
});

describe('checkpoints of a change log', () => {
  /** The fake source with a log whose watermark and trimmed-below mark the test sets. */
  function withLog(log: { position: bigint; trimmedBelow: bigint }) {
    source.log = {
      position: async () => log.position,
      trimmedBelow: async () => log.trimmedBelow,
    };
    return log;
  }
  const positionOnDisk = async (collectionId: string) =>
    (
      JSON.parse(await readFile(sidecarPath(path.join(dir, `${collectionId}.hnsw`)), 'utf8')) as {
        position?: string;
      }
    ).position;

  it('records the log position in each file, and loads such a file without reading the table', async () => {
    const log = withLog({ position: 100n, trimmedBelow: 0n });
    const first = newStore();
    const opened = await first.openAll();
    expect(opened.position).toBe(100n);
    expect(await positionOnDisk('alpha')).toBe('100'); // rebuilt at the start position
    first.setPosition(140n);
    await first.add('alpha', makeChunks(5000, 3));
    await first.close();
    expect(await positionOnDisk('alpha')).toBe('140');

    log.position = 200n;
    const fingerprint = vi.spyOn(source, 'fingerprint');
    const second = newStore();
    const report = await second.openAll();
    expect(report.replayed.sort()).toEqual(['alpha', 'beta', 'empty']);
    expect(report.rebuilt).toEqual([]);
    // The oldest checkpoint: the log is replayed from there.
    expect(report.position).toBe(100n);
    expect(fingerprint).not.toHaveBeenCalled();
    expect(second.get('alpha')!.count).toBe(303);
  });

  it('compares a checkpoint with the table when the log since it was trimmed', async () => {
    const log = withLog({ position: 100n, trimmedBelow: 0n });
    await newStore().openAll();
    await stores.pop()!.close();
    log.trimmedBelow = 150n;
    log.position = 300n;
    source.put('beta', makeChunks(2000, 1)); // changed while its log was trimmed
    const report = await newStore().openAll();
    expect(report.replayed).toEqual([]);
    expect(report.loaded.sort()).toEqual(['alpha', 'empty']);
    expect(report.rebuilt).toEqual(['beta']);
    expect(report.reasons.beta).toMatch(/stale/);
    expect(report.position).toBe(300n);
  });

  it('writes an index once persistAfterChanges points changed, however soon', async () => {
    withLog({ position: 1n, trimmedBelow: 0n });
    const store = new VectorIndexStore({
      directory: dir,
      source,
      persistDelayMs: null,
      persistAfterChanges: 10,
      onPersistError: (error) => backgroundErrors.push(error),
    });
    stores.push(store);
    await store.openAll();
    store.setPosition(7n);
    await store.add('beta', makeChunks(3000, 4));
    expect(await positionOnDisk('beta')).toBe('1'); // 4 changes: not yet
    await store.add('beta', makeChunks(3100, 6));
    await vi.waitFor(async () => expect(await positionOnDisk('beta')).toBe('7'), WAIT);
  });

  it('waits for persistAfterShare of a large index to change, so writes stay in proportion to it', async () => {
    withLog({ position: 1n, trimmedBelow: 0n });
    const store = new VectorIndexStore({
      directory: dir,
      source,
      persistDelayMs: null,
      persistAfterChanges: 10,
      persistAfterShare: 0.25,
      onPersistError: (error) => backgroundErrors.push(error),
    });
    stores.push(store);
    await store.openAll();
    store.setPosition(9n);
    // A small index: the count (10) is the larger threshold. alpha holds 300 and more: a quarter.
    await store.add('empty', makeChunks(3000, 10));
    await vi.waitFor(async () => expect(await positionOnDisk('empty')).toBe('9'), WAIT);
    await store.add('alpha', makeChunks(4000, 70));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await positionOnDisk('alpha')).toBe('1');
    await store.add('alpha', makeChunks(4100, 30)); // 100 changed, a quarter of 400
    await vi.waitFor(async () => expect(await positionOnDisk('alpha')).toBe('9'), WAIT);
  });

  it('leaves to the log, at close, an index whose write would not fit the budget', async () => {
    // Large enough for its write to be measured (a small one is mostly fixed costs).
    source.put('large', makeChunks(100_000, 10_000));
    const log = withLog({ position: 1n, trimmedBelow: 0n });
    const first = newStore();
    await first.openAll(); // rebuilt and written: what a write costs is known
    await first.close();
    log.position = 2n;
    const second = newStore();
    await second.openAll(); // loaded from their files, empty ones too
    second.setPosition(5n);
    await second.add('large', makeChunks(200_000, 2));
    await second.add('empty', makeChunks(6000, 2));
    const closing = await second.close({ budgetMs: 1 });
    // Nothing measured says what the small one costs: it is written, the large one is not.
    expect(closing).toEqual({ saved: ['empty'], leftToLog: ['large'] });
    expect(await positionOnDisk('large')).toBe('1'); // the last checkpoint, intact
    expect(await positionOnDisk('empty')).toBe('5');

    // The next start loads that checkpoint and replays from its position: nothing is rebuilt.
    log.position = 6n;
    const third = newStore();
    const report = await third.openAll();
    expect(report.rebuilt).toEqual([]);
    expect(report.replayed).toContain('large');
    expect(report.position).toBe(1n);

    // With room for the write, close writes it.
    third.setPosition(7n);
    await third.add('large', makeChunks(300_000, 1));
    expect(await third.close({ budgetMs: 60_000 })).toEqual({ saved: ['large'], leftToLog: [] });
    expect(await positionOnDisk('large')).toBe('7');
  });
});
