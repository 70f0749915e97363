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

  it('closes the database when the indexes cannot be opened', async () => {
    // A file where the index directory should be.
    await rm(path.join(dataDir, 'indexes'), { recursive: true, force: true });
    await writeFile(path.join(dataDir, 'indexes'), '');
    await expect(createApp(config())).rejects.toThrow(/EEXIST|ENOTDIR/);

    await rm(path.join(dataDir, 'indexes'));
    const app = await createApp(config());
    await app.close();
  });
});
