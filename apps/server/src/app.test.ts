import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import { loadConfig } from './env';

/** A start-up step made to fail on demand: registering the docs, the last step before ready. */
const docs = vi.hoisted(() => ({ fail: false, hostsClosed: 0 }));
vi.mock('./http/docs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./http/docs')>();
  return {
    ...actual,
    async registerDocs(http: FastifyInstance, version: string) {
      if (!docs.fail) return actual.registerDocs(http, version);
      http.addHook('onClose', async () => {
        docs.hostsClosed += 1;
      });
      throw new Error('the docs could not be registered');
    },
  };
});

let dataDir = '';
// The embedded database in DATA_DIR, opened (and locked) by createApp itself.
const config = () => loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'personas-app-'));
  // The first start creates the database (initdb, seconds); the tests' starts then reopen it.
  const first = await createApp(config());
  await first.close();
});

beforeEach(() => {
  docs.fail = false;
  docs.hostsClosed = 0;
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('createApp, when a start-up step fails', () => {
  it('closes the HTTP host, the indexes and the database it opened, and releases the lock', async () => {
    docs.fail = true;
    await expect(createApp(config())).rejects.toThrow('the docs could not be registered');
    expect(docs.hostsClosed).toBe(1);

    // A database left open would still hold DATA_DIR's lock: this start would be refused.
    docs.fail = false;
    const app = await createApp(config());
    await app.close();
  });
});

describe('createApp, when the indexes cannot be opened', () => {
  it('serves anyway, not ready, retries until they open, and closes meanwhile too', async () => {
    // A file where the index directory should be.
    await rm(path.join(dataDir, 'indexes'), { recursive: true, force: true });
    await writeFile(path.join(dataDir, 'indexes'), '');
    const app = await createApp(config());
    try {
      expect((await app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ reason: 'indexes_loading' });

      await rm(path.join(dataDir, 'indexes'));
      // The next attempt (a second later) opens them.
      await app.indexesLoaded;
      expect((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }

    // Stopped while still failing to open: the close does not wait for a load that never ends.
    await rm(path.join(dataDir, 'indexes'), { recursive: true, force: true });
    await writeFile(path.join(dataDir, 'indexes'), '');
    const stuck = await createApp(config());
    await stuck.close();
    await rm(path.join(dataDir, 'indexes'));
  }, 30_000);
});
