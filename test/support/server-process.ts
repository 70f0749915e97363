import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { UNTHROTTLED_ADDRESS_ENV } from '../../apps/server/src/test-support/throttle-env';

const SERVER_DIR = fileURLToPath(new URL('../../apps/server', import.meta.url));

/** Generous: a loaded 2-core machine (CI, several suites at once) starts a server slowly. */
const START_TIMEOUT_MS = 180_000;

/**
 * Every server this test process started and has not stopped. A test that fails or times out
 * before disposing of its server must not leave it running (an orphan holds ~0.5 GB and a port):
 * they are all killed when the test process exits.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerProcess extends AsyncDisposable {
  url: string;
  child: ChildProcess;
  dataDir: string;
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/**
 * Starts the real server the way `npm start` does (one PID: `node --import tsx`), on a free port
 * with a fresh data directory, and resolves once it listens and has loaded its search indexes
 * (`/readyz` no longer says `indexes_loading`; it listens before that).
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  opts: {
    dataDir?: string;
    /** false: resolve as soon as it listens, while the indexes may still load. */
    awaitIndexes?: boolean;
  } = {},
): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'personas-e2e-')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...UNTHROTTLED_ADDRESS_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output}`));
    });
  });
  if (opts.awaitIndexes !== false) await indexesLoaded(url, exited, () => output);
  return {
    url,
    child,
    dataDir,
    output: () => output,
    exited,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** How long a stopped server may take to drain and write its indexes before it is killed. */
const STOP_TIMEOUT_MS = 60_000;

/**
 * Stops a server as an operator does (SIGTERM: it drains requests, writes its vector indexes
 * and closes the database) and resolves with its exit code; killed if it does not exit in time.
 */
export async function stopServer(server: ServerProcess): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  server.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
  });
  const code = await Promise.race([server.exited, late]);
  clearTimeout(timer);
  if (code === 'late') {
    server.child.kill('SIGKILL');
    await server.exited;
    throw new Error(`the server did not stop within ${STOP_TIMEOUT_MS} ms:\n${server.output()}`);
  }
  return code;
}

/** Polls `/readyz` until the server's indexes are loaded (any answer but `indexes_loading`). */
async function indexesLoaded(
  url: string,
  exited: Promise<number | null>,
  output: () => string,
): Promise<void> {
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !ended) {
    const answer = await fetch(`${url}/readyz`).catch(() => null);
    const body = (await answer?.json().catch(() => null)) as { reason?: string } | null;
    if (answer && body?.reason !== 'indexes_loading') return;
    await sleep(100);
  }
  throw new Error(`the server did not load its indexes:\n${output()}`);
}
