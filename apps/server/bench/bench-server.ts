/**
 * Helpers for benches that drive real server processes (`test/support/server-process.ts`) over
 * REST and read what the kernel says about them (`/proc/<pid>/…`). The patterns are those of
 * bench/replicas.ts, made reusable: a throw-away Postgres database, a login, a bounded call, the
 * time from spawn to listening and to `/readyz` 200, and a graceful stop that keeps the process's
 * last I/O figures.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { psql } from '../../../test/support/database';
import { ADMIN } from '../../../test/support/fixtures';
import { rest } from '../../../test/support/rest';
import type { ServerProcess } from '../../../test/support/server-process';

const run = promisify(execFile);

/** A database created for the run on the Postgres server of `serverUrl`, dropped afterwards. */
export async function withDatabase<T>(
  serverUrl: string,
  work: (url: string, name: string) => Promise<T>,
): Promise<T> {
  const name = `personas_bench_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await psql(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString(), name);
  } finally {
    await psql(serverUrl, `drop database if exists "${name}" with (force)`);
  }
}

/** `pg_database_size` of the database `name`, in bytes. */
export async function databaseSize(serverUrl: string, name: string): Promise<number> {
  return Number(await psql(serverUrl, `select pg_database_size('${name}')`));
}

export async function login(url: string): Promise<string> {
  const answer = await rest<{ token: string }>(url, {
    method: 'POST',
    path: '/auth/login',
    body: ADMIN,
    signal: AbortSignal.timeout(60_000),
  });
  if (answer.status !== 200) throw new Error(`login: ${answer.status}`);
  return answer.body.token;
}

/** One REST call that must succeed (2xx) within `timeoutMs`; answers the body. */
export async function call<T>(
  url: string,
  token: string,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
  timeoutMs = 120_000,
): Promise<{ status: number; body: T }> {
  const answer = await rest<T>(url, {
    method,
    path: p,
    token,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (answer.status >= 300)
    throw new Error(`${method} ${p}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { status: answer.status, body: answer.body };
}

/** The nearest-rank percentile of `values` (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

export interface ReadyTimes {
  server: ServerProcess;
  /** Spawn → `listening on …` printed. */
  listenMs: number;
  /** Spawn → `/readyz` 200. */
  readyMs: number;
  /** The 200 answer of `/readyz`: what the start found (loaded, replayed, rebuilt). */
  body: Record<string, unknown>;
}

/**
 * From spawn to listening and to `/readyz` 200. `start` must resolve as soon as the process
 * listens (`awaitIndexes: false`). Gives up (and kills the process) after `boundMs`.
 */
export async function timeToReady(
  start: () => Promise<ServerProcess>,
  boundMs = 3_600_000,
): Promise<ReadyTimes> {
  const begun = performance.now();
  const server = await start();
  const listenMs = performance.now() - begun;
  while (performance.now() - begun < boundMs && server.child.exitCode === null) {
    const answer = await fetch(`${server.url}/readyz`, {
      signal: AbortSignal.timeout(30_000),
    }).catch(() => null);
    if (answer?.status === 200) {
      const body = (await answer.json()) as Record<string, unknown>;
      return { server, listenMs, readyMs: performance.now() - begun, body };
    }
    await answer?.body?.cancel();
    await sleep(50);
  }
  await server[Symbol.asyncDispose]();
  throw new Error(
    `the server was not ready within ${boundMs} ms:\n${server.output().slice(-4000)}`,
  );
}

/** Bytes the process caused to be written to storage since it started (`/proc/<pid>/io`). */
export async function writeBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? Number.NaN);
}

/** The process's user + system CPU time so far, in clock ticks (`/proc/<pid>/stat`). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks per second (`getconf CLK_TCK`; 100 almost everywhere). */
export async function clockTicksPerSecond(): Promise<number> {
  const { stdout } = await run('getconf', ['CLK_TCK']);
  const ticks = Number(stdout.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

/** The process's resident set (VmRSS), in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Disk usage of a directory tree (`du`: allocated blocks, not apparent size), in bytes. */
export async function diskUsage(directory: string): Promise<number> {
  const { stdout } = await run('du', ['-s', '--block-size=1', directory]);
  return Number(stdout.split('\t')[0]);
}

export interface Stopped {
  code: number | null;
  /** SIGTERM → exit. */
  ms: number;
  /** The last `write_bytes` read before the process was gone (sampled every 10 ms). */
  writeBytes: number;
}

/**
 * Stops a server as an operator does (SIGTERM: drain, save the indexes, close the database) and
 * waits for it to exit, sampling `/proc/<pid>/io` meanwhile so the writes of the shutdown itself
 * are counted. Killed (SIGKILL) and reported with code null if it takes longer than `boundMs`.
 */
export async function stopGracefully(server: ServerProcess, boundMs = 600_000): Promise<Stopped> {
  const pid = server.child.pid!;
  let written = await writeBytes(pid);
  const done = server.exited.then((code) => ({ code }));
  const begun = performance.now();
  server.child.kill('SIGTERM');
  while (performance.now() - begun < boundMs) {
    written = await writeBytes(pid).catch(() => written);
    const exit = await Promise.race([done, sleep(10).then(() => null)]);
    if (exit) return { code: exit.code, ms: performance.now() - begun, writeBytes: written };
  }
  server.child.kill('SIGKILL');
  await server.exited;
  return { code: null, ms: performance.now() - begun, writeBytes: written };
}

/**
 * The distinct messages of the warn-and-worse JSON log lines in a server's output (pino levels
 * ≥ 40), each with how often it came: what a bench should show beside its figures.
 */
export function serverWarnings(output: string): string[] {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) < 40) continue;
      const message = entry.msg ?? line.slice(0, 200);
      counts.set(message, (counts.get(message) ?? 0) + 1);
    } catch {
      // Not a log line.
    }
  }
  return [...counts].map(([message, n]) => (n > 1 ? `${message} (×${n})` : message));
}
