// README's "Operating it", followed step by step as an operator would: behind a proxy, backed up
// and restored, moved to Postgres, dumped and restored there, upgraded by several processes at
// once. Every shell command is taken from README as written (the test fails when README no longer
// says it) and run through bash with the guide's variables set to scratch places.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../apps/server/src/db/connect';
import { migrateTo } from '../apps/server/src/db/migrate';
import { createLogger } from '../apps/server/src/logger';
import { ADMIN, adminEnv } from './support/fixtures';
import {
  createScratchDatabase,
  postgresServerUnavailable,
  type ScratchDatabase,
} from './support/postgres-server';
import {
  buildInstallation,
  type Installation,
  readInstallation,
  useInstallation,
} from './support/sample-installation';
import { type ServerProcess, startServerProcess, stopServer } from './support/server-process';
import { POSTGRES_BIN } from './support/throwaway-postgres';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIGRATIONS_DIR = path.join(ROOT, 'apps/server/src/db/migrations');

/** README's section, from its heading to the next one. */
const guide = await (async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Operating it\n');
  if (start < 0) throw new Error('README has no "Operating it" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
})();

const postgresMissing = await postgresServerUnavailable();
const PATH = [POSTGRES_BIN, process.env.PATH ?? ''].join(path.delimiter);
const pgDumpMissing = (() => {
  for (const dir of PATH.split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pg_dump')) && existsSync(path.join(dir, 'pg_restore'))) {
      return null;
    }
  }
  return 'pg_dump and pg_restore are not on PATH or in /usr/lib/postgresql/15/bin';
})();
for (const [what, why] of [
  ['the Postgres steps', postgresMissing],
  ['the pg_dump steps', pgDumpMissing],
] as const) {
  if (why) console.warn(`operator-guide.test.ts skips ${what}: ${why} (CI has them)`);
}

/** A shell command of the guide, run as written in `cwd` with the guide's variables set. */
async function followGuide(command: string, vars: Record<string, string>, cwd: string) {
  expect(guide, 'README\'s "Operating it" no longer says this').toContain(command);
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
    cwd,
    env: { PATH, HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'warn', ...vars },
    // Bounded: a loaded machine is slow, never stuck.
    timeout: 180_000,
  });
  return stdout;
}

async function readyz(server: ServerProcess) {
  const body = (await (await fetch(`${server.url}/readyz`)).json()) as {
    database: string;
    vector_indexes: { loaded: number; rebuilt: number };
  };
  return body.vector_indexes;
}

// Server starts (slow on a loaded 2-core machine), a copy, a dump and a restore per step at most.
const STEP_TIMEOUT = 240_000;

describe("README's operator guide, step by step", () => {
  let work: string;
  /** The live installation's DATA_DIR, then the one restored from its backup. */
  let dataDir: string;
  let restoreDir: string;
  let installation: Installation;
  let before: Awaited<ReturnType<typeof readInstallation>>;
  const databases: ScratchDatabase[] = [];
  const scratchDatabase = async () => {
    const db = await createScratchDatabase('personas_guide');
    databases.push(db);
    return db;
  };
  let moved: ScratchDatabase | undefined;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'personas-guide-'));
    dataDir = path.join(work, 'data');
    restoreDir = path.join(work, 'restored');
  });
  afterAll(async () => {
    for (const db of databases) await db[Symbol.asyncDispose]();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'runs behind a proxy: TRUST_PROXY=loopback takes the address the proxy appended, not the one a client claimed',
    async () => {
      await using server = await startServerProcess(
        { ...adminEnv(), TRUST_PROXY: 'loopback' },
        { dataDir },
      );
      installation = await buildInstallation(server.url);
      // What nginx's `$proxy_add_x_forwarded_for` sends for a client at 203.0.113.7 that sent a
      // made-up `X-Forwarded-For: 198.51.100.1` itself.
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': '198.51.100.1, 203.0.113.7',
        },
        body: JSON.stringify(ADMIN),
      });
      expect(login.status).toBe(200);
      const audit = (await (
        await fetch(`${server.url}/api/audit?action=auth.login`, {
          headers: { authorization: `Bearer ${installation.adminToken}` },
        })
      ).json()) as { events: { ip: string | null }[] };
      expect(audit.events[0]?.ip).toBe('203.0.113.7');
      before = await readInstallation(server.url, installation);
      expect(await stopServer(server)).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it(
    'backs up the stopped embedded database, restores it elsewhere, and starts from the copy',
    async () => {
      await followGuide(
        'tar -czf personas-backup.tgz -C "$DATA_DIR" .',
        { DATA_DIR: dataDir },
        work,
      );
      await followGuide(
        'mkdir -p "$RESTORE_DIR" && tar -xzf personas-backup.tgz -C "$RESTORE_DIR"',
        { RESTORE_DIR: restoreDir },
        work,
      );
      await using server = await startServerProcess(adminEnv(), { dataDir: restoreDir });
      // The backup holds the indexes too: they match and are loaded as they are.
      expect(await readyz(server)).toEqual({ loaded: 1, rebuilt: 0 });
      expect(await readInstallation(server.url, installation)).toEqual(before);
      expect(await stopServer(server)).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it.skipIf(postgresMissing !== null)(
    'moves the restored installation to Postgres with copy-to-postgres, keeping its DATA_DIR for the indexes',
    async () => {
      moved = await scratchDatabase();
      const out = await followGuide(
        'npm run cli -- copy-to-postgres --to "$DATABASE_URL"',
        { DATA_DIR: restoreDir, DATABASE_URL: moved.url },
        ROOT,
      );
      expect(out).toMatch(/row counts verified/);
      await using server = await startServerProcess(
        { ...adminEnv(), DATABASE_URL: moved.url },
        { dataDir: restoreDir },
      );
      expect(await readyz(server)).toEqual({ loaded: 1, rebuilt: 0 });
      expect(await readInstallation(server.url, installation)).toEqual(before);
      expect(await stopServer(server)).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it.skipIf(postgresMissing !== null || pgDumpMissing !== null)(
    'dumps Postgres with pg_dump, restores it with pg_restore, and serves from the restored database',
    async () => {
      if (!moved) throw new Error('the move to Postgres did not happen');
      await followGuide(
        'pg_dump --format=custom --file=personas.dump "$DATABASE_URL"',
        { DATABASE_URL: moved.url },
        work,
      );
      const restored = await scratchDatabase();
      await followGuide(
        'pg_restore --no-owner --exit-on-error --dbname="$RESTORE_DATABASE_URL" personas.dump',
        { RESTORE_DATABASE_URL: restored.url },
        work,
      );
      // A fresh DATA_DIR: the indexes are rebuilt from the restored chunks.
      await using server = await startServerProcess({ ...adminEnv(), DATABASE_URL: restored.url });
      expect(await readyz(server)).toEqual({ loaded: 0, rebuilt: 1 });
      expect(await readInstallation(server.url, installation)).toEqual(before);
      await useInstallation(server.url, installation);
      expect(await stopServer(server)).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it.skipIf(postgresMissing !== null)(
    'upgrades: two processes starting at once on an older schema run each pending migration once',
    async () => {
      const older = await scratchDatabase();
      const logger = createLogger('warn');
      const { db } = await connectDatabase({ databaseUrl: older.url, dataDir: null }, logger);
      const migrations = (await readdir(MIGRATIONS_DIR)).map((f) => f.replace(/\.ts$/, '')).sort();
      try {
        // As a database left by a version three migrations ago.
        await migrateTo(db, migrations.at(-4)!);
      } finally {
        await db.destroy();
      }
      const servers = await Promise.allSettled([
        startServerProcess({ DATABASE_URL: older.url }),
        startServerProcess({ DATABASE_URL: older.url }),
      ]);
      try {
        for (const s of servers) if (s.status === 'rejected') throw s.reason;
        const { db: after } = await connectDatabase(
          { databaseUrl: older.url, dataDir: null },
          logger,
        );
        try {
          const { rows } = await sql<{ name: string }>`
            select name from kysely_migration order by name
          `.execute(after);
          expect(rows.map((r) => r.name)).toEqual(migrations);
        } finally {
          await after.destroy();
        }
      } finally {
        for (const s of servers) {
          if (s.status === 'fulfilled') expect(await stopServer(s.value)).toBe(0);
        }
      }
    },
    STEP_TIMEOUT,
  );
});
