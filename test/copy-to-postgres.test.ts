// The move from the embedded database to Postgres, end to end: real data made through the API on
// a PGlite server, `npm run cli -- copy-to-postgres` into a new database, and a server on that
// database that answers every read the same and keeps working.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';
import { adminEnv } from './support/fixtures';
import {
  createScratchDatabase,
  POSTGRES_SERVER_URL,
  postgresServerUnavailable,
  type ScratchDatabase,
} from './support/postgres-server';
import {
  buildInstallation,
  type Installation,
  readInstallation,
  useInstallation,
} from './support/sample-installation';
import { startServerProcess, stopServer } from './support/server-process';

const unavailable = await postgresServerUnavailable();
if (unavailable) {
  console.warn(`copy-to-postgres.test.ts skipped: ${unavailable} (CI has one)`);
}

// Two server starts, a copy and a refused one; slow on a loaded 2-core machine.
const TEST_TIMEOUT = 300_000;

describe.skipIf(unavailable !== null)(`copy-to-postgres (onto ${POSTGRES_SERVER_URL})`, () => {
  let dataDir: string;
  let freshDataDir: string;
  let target: ScratchDatabase;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'personas-copy-'));
    freshDataDir = await mkdtemp(path.join(tmpdir(), 'personas-copy-fresh-'));
    target = await createScratchDatabase('personas_copy');
  });
  afterAll(async () => {
    await target?.[Symbol.asyncDispose]();
    await rm(dataDir, { recursive: true, force: true });
    await rm(freshDataDir, { recursive: true, force: true });
  });

  it(
    'keeps every user, key, persona, document and history, and the copy keeps working',
    async () => {
      let installation: Installation;
      let before: Awaited<ReturnType<typeof readInstallation>>;
      {
        await using embedded = await startServerProcess(adminEnv(), { dataDir });
        installation = await buildInstallation(embedded.url);
        before = await readInstallation(embedded.url, installation);
        // What the comparison below covers is really there.
        expect(before.users).toMatchObject({ users: expect.any(Array) });
        expect((before.users as { users: unknown[] }).users).toHaveLength(3);
        expect((before.search as { hits: unknown[] }).hits[0]).toMatchObject({
          file_name: 'tea.md',
          success: true,
        });
        expect(before.messages).toMatchObject({ messages: expect.any(Array) });
        expect((before.messages as { messages: unknown[] }).messages).toHaveLength(4);
        expect((before.audit as { events: unknown[] }).events.length).toBeGreaterThan(5);

        // The source is one process's database: no copy while its server holds it.
        const busy = await runCli(['copy-to-postgres', '--to', target.url], {
          DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
        });
        expect(busy.code).toBe(1);
        expect(busy.stderr).toMatch(/in use by process/);
        expect(await stopServer(embedded)).toBe(0);
      }

      // Three rows a batch, so every table of more rows than that takes several.
      const copy = await runCli(
        ['copy-to-postgres', '--to', target.url, '--from-data-dir', dataDir, '--batch-size', '3'],
        { LOG_LEVEL: 'warn' },
      );
      expect(copy.stderr).toBe('');
      expect(copy.code).toBe(0);
      expect(copy.stdout).toMatch(/row counts verified/);
      // Bootstrap admin, builder, user; two personas; two documents; three histories' messages.
      expect(copy.stdout).toMatch(/^ {2}users +3$/m);
      expect(copy.stdout).toMatch(/^ {2}personas +2$/m);
      expect(copy.stdout).toMatch(/^ {2}documents +2$/m);
      expect(copy.stdout).toMatch(/^ {2}message_histories +2$/m);
      expect(copy.stdout).toMatch(/^ {2}messages +6$/m);
      expect(copy.stdout).toMatch(/^ {2}api_keys +1$/m);

      const again = await runCli(
        ['copy-to-postgres', '--to', target.url, '--from-data-dir', dataDir],
        {
          LOG_LEVEL: 'warn',
        },
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already holds data \(.*users: 3/);

      // A fresh DATA_DIR: no index files, so the server rebuilds them from the copied chunks.
      await using moved = await startServerProcess(
        { ...adminEnv(), DATABASE_URL: target.url },
        { dataDir: freshDataDir },
      );
      const info = (await (await fetch(`${moved.url}/api/system/info`)).json()) as {
        database: string;
      };
      expect(info.database).toBe('postgres');
      const ready = (await (await fetch(`${moved.url}/readyz`)).json()) as {
        vector_indexes: { loaded: number; rebuilt: number };
      };
      expect(ready.vector_indexes).toEqual({ loaded: 0, rebuilt: 1 });

      expect(await readInstallation(moved.url, installation)).toEqual(before);
      await useInstallation(moved.url, installation);
      expect(await stopServer(moved)).toBe(0);
    },
    TEST_TIMEOUT,
  );
});
