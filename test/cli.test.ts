import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';
import { startServerProcess } from './support/server-process';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'personas-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function login(url: string, email: string, password: string) {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return { status: res.status, body: (await res.json()) as { role?: string } };
}

// Each test starts real server processes (2–4 s apiece, more on a loaded machine).
const PROCESS_TEST_TIMEOUT = 120_000;

describe('the personas command line', () => {
  it(
    'creates a user with a role and resets a password, for operators without HTTP',
    async () => {
      const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
      const created = await runCli(
        [
          'create-user',
          '--email',
          'ops@example.com',
          '--password',
          'first-password',
          '--role',
          'builder',
        ],
        env,
      );
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/Created builder ops@example.com/);

      const duplicate = await runCli(
        ['create-user', '--email', 'ops@example.com', '--password', 'first-password'],
        env,
      );
      expect(duplicate.code).toBe(2);
      expect(duplicate.stderr).toMatch(/already exists/);

      const invalid = await runCli(
        ['create-user', '--email', 'x@example.com', '--password', 'short'],
        env,
      );
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/--password: Password must be at least 8 characters/);

      const reset = await runCli(
        ['reset-password', '--email', 'ops@example.com', '--password', 'second-password'],
        env,
      );
      expect(reset.code).toBe(0);

      await using server = await startServerProcess({}, { dataDir });
      expect((await login(server.url, 'ops@example.com', 'first-password')).status).toBe(401);
      const ok = await login(server.url, 'ops@example.com', 'second-password');
      expect(ok.status).toBe(200);
      expect(ok.body.role).toBe('builder');

      // PGlite is one process's database: the CLI refuses to open it while the server runs.
      const busy = await runCli(
        ['reset-password', '--email', 'ops@example.com', '--password', 'third-password'],
        env,
      );
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/in use by process/);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
