import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian puts PostgreSQL 15's server binaries (the CI image and these machines). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** Every step of the cluster's life is bounded: a loaded machine is slow, never stuck. */
const STEP_TIMEOUT_S = 60;

const isRoot = () => process.getuid?.() === 0;

/**
 * Why a throw-away cluster cannot be made here, or null when it can: the binaries must exist,
 * and as root (initdb refuses root) the `postgres` user and `runuser` must too.
 */
export function throwawayPostgresUnavailable(): string | null {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!existsSync(path.join(POSTGRES_BIN, tool))) {
      return `no PostgreSQL binaries at ${POSTGRES_BIN} (${tool} missing)`;
    }
  }
  if (isRoot()) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no postgres user to run initdb as';
    }
    if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) {
      return 'running as root and runuser is missing';
    }
  }
  return null;
}

/** A free TCP port on 127.0.0.1: bound and released (the cluster takes it just after). */
async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no spare port');
  return address.port;
}

/** Runs a PostgreSQL tool, as the `postgres` user when this process is root. */
async function pgTool(tool: string, args: string[]): Promise<string> {
  const binary = path.join(POSTGRES_BIN, tool);
  const [file, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', binary, ...args]]
    : [binary, args];
  const { stdout } = await run(file, argv, { timeout: (STEP_TIMEOUT_S + 10) * 1000 });
  return stdout;
}

export interface ThrowawayPostgres extends AsyncDisposable {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth). */
  url: string;
  port: number;
  dir: string;
  /** `pg_ctl stop -m immediate`: every backend killed at once, no checkpoint (a crash). */
  kill(): Promise<void>;
  /** Starts the cluster again (crash recovery included) and resolves once it accepts. */
  start(): Promise<void>;
}

/**
 * A PostgreSQL cluster of its own, in a fresh directory under /tmp on a spare port: made with
 * initdb, started with pg_ctl, and on dispose stopped and deleted. Never the shared server.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = await mkdtemp('/tmp/personas-pgfault-');
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  const port = await sparePort();
  const stop = async (mode: 'immediate' | 'fast') => {
    await pgTool('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', String(STEP_TIMEOUT_S)]);
  };
  const start = async () => {
    // The socket directory is the cluster's own, so nothing is left in /var/run/postgresql.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
    await pgTool('pg_ctl', [
      'start',
      '-D',
      data,
      '-l',
      log,
      '-o',
      options,
      '-w',
      '-t',
      String(STEP_TIMEOUT_S),
    ]);
  };
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    if (isRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      await chown(dir, uid, gid);
    }
    await pgTool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await start();
  } catch (error) {
    await stop('immediate').catch(() => {});
    await remove();
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    kill: () => stop('immediate'),
    start,
    async [Symbol.asyncDispose]() {
      // Already stopped (a test that failed mid-outage) is fine: the directory goes regardless.
      await stop('immediate').catch(() => {});
      await remove();
    },
  };
}
