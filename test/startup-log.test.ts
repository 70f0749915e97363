// What an operator reads in the log: one structured start-up line saying what started, a warning
// with the way out when no admin exists, and request lines at info only when worth a look.
import { afterEach, describe, expect, it } from 'vitest';
import { adminEnv } from './support/fixtures';
import { type ServerProcess, startServerProcess } from './support/server-process';

// Each test starts real server processes (seconds apiece, more on a loaded machine).
const PROCESS_TEST_TIMEOUT = 120_000;

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.[Symbol.asyncDispose]();
  server = undefined;
});

/** The JSON lines the process has printed so far. */
const lines = () =>
  (server?.output() ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('start-up', () => {
  it(
    'prints one structured line when it listens (indexes loading), and one when they are loaded',
    async () => {
      server = await startServerProcess({ ...adminEnv(), LOG_LEVEL: 'warn' });
      const started = lines().filter((l) => String(l.msg).startsWith('Personas listening on'));
      expect(started).toEqual([
        expect.objectContaining({
          url: server.url,
          database: 'pglite',
          providers: { embeddings: 'offline', language_model: 'offline' },
          admin: 'created',
          indexes: 'loading',
        }),
      ]);
      const ready = lines().filter((l) => String(l.msg).startsWith('Personas ready'));
      expect(ready).toEqual([
        expect.objectContaining({
          vector_indexes: { loaded: 0, replayed: 0, rebuilt: 0 },
          lexical_indexes: { loaded: 0, rebuilt: 0 },
        }),
      ]);
      // Everything it printed is JSON: no plain-text line beside the structured ones.
      expect(
        server
          .output()
          .trim()
          .split('\n')
          .every((l) => l.startsWith('{')),
      ).toBe(true);
      expect(lines().some((l) => String(l.msg).includes('No admin account'))).toBe(false);
    },
    PROCESS_TEST_TIMEOUT,
  );

  it(
    'warns, saying how to make one, when no admin exists and none is configured',
    async () => {
      server = await startServerProcess({ LOG_LEVEL: 'warn' });
      const started = lines().find((l) => String(l.msg).startsWith('Personas listening on'));
      expect(started?.admin).toBe('not configured');
      const warningOf = () => lines().find((l) => String(l.msg).includes('No admin account'));
      await expect.poll(() => warningOf() !== undefined, { timeout: 5_000 }).toBe(true);
      const warning = warningOf();
      expect(warning?.level).toBe(40);
      expect(String(warning?.msg)).toContain('npm run cli -- create-user');
      expect(String(warning?.msg)).toContain('ADMIN_EMAIL');
    },
    PROCESS_TEST_TIMEOUT,
  );
});

describe('request lines', () => {
  it(
    'at info only for failures and slow requests; at debug for the rest',
    async () => {
      server = await startServerProcess({ LOG_LEVEL: 'info', SLOW_REQUEST_MS: '60000' });
      expect((await fetch(`${server.url}/api/system/info`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/nothing-here`)).status).toBe(404);
      const requests = () => lines().filter((l) => l.msg === 'request completed');
      await expect.poll(() => requests().length, { timeout: 5_000 }).toBe(1);
      expect(requests()[0]).toMatchObject({ level: 30, res: { statusCode: 404 } });
      await server[Symbol.asyncDispose]();

      server = await startServerProcess({ LOG_LEVEL: 'debug' });
      expect((await fetch(`${server.url}/api/system/info`)).status).toBe(200);
      await expect
        .poll(() => requests().filter((l) => l.level === 20).length, {
          timeout: 5_000,
        })
        .toBeGreaterThan(0);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
