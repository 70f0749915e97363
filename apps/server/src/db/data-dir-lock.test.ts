import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir } from './data-dir-lock';

const LOCK_MODULE = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url));

let dir = '';
const lockFile = () => path.join(dir, 'personas.pid');

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'personas-lock-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (the OS may reuse it later, but not this soon). */
async function deadPid(): Promise<number> {
  const child = execFile(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Resolves with the next line a child prints (the test's timeout bounds the wait). */
function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      child.stdout?.off('data', onData);
      resolve(text.slice(0, end));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before a line`)));
  });
}

/**
 * A process that loads the lock, says `ready`, tries the lock when told `go`, prints `won` or
 * the error's name, and holds what it won until its stdin closes.
 */
function lockingProcess(): ChildProcess {
  const script = `
    const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      try {
        await lockDataDir(${JSON.stringify(dir)});
        process.stdout.write('won\\n');
      } catch (error) {
        process.stdout.write(error.name + '\\n');
      }
      process.stdin.resume();
    });
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

describe('lockDataDir', () => {
  it('lets exactly one of two concurrent acquisitions in a process win', async () => {
    const results = await Promise.allSettled([lockDataDir(dir), lockDataDir(dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(DataDirInUse);
    expect(await readFile(lockFile(), 'utf8')).toBe(String(process.pid));
    await (won[0] as PromiseFulfilledResult<() => Promise<void>>).value();
  });

  it('lets exactly one of two processes that try at the same moment win', async () => {
    const children = [lockingProcess(), lockingProcess()];
    try {
      // Both have loaded the module before either tries: the attempts are as close as they get.
      expect(await Promise.all(children.map(nextLine))).toEqual(['ready', 'ready']);
      const results = Promise.all(children.map(nextLine));
      for (const child of children) child.stdin?.write('go\n');
      const outcomes = await results;
      expect([...outcomes].sort()).toEqual(['DataDirInUse', 'won']);
      const winner = children[outcomes.indexOf('won')]!;
      expect(await readFile(lockFile(), 'utf8')).toBe(String(winner.pid));
    } finally {
      for (const child of children) child.kill();
      await Promise.all(
        children.map((c) =>
          c.exitCode !== null || c.signalCode !== null ? undefined : once(c, 'exit'),
        ),
      );
    }
  });

  it('refuses a lock held by a live process, naming it', async () => {
    await writeFile(lockFile(), String(process.ppid));
    await expect(lockDataDir(dir)).rejects.toThrow(
      new DataDirInUse(
        `The embedded database in ${dir} is in use by process ${process.ppid}: stop it first, or use DATABASE_URL`,
      ),
    );
    expect(await readFile(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('refuses a lock file that names no process yet (its creator is still writing it)', async () => {
    await writeFile(lockFile(), '');
    await expect(lockDataDir(dir)).rejects.toThrow(/names no process yet/);
  });

  it('takes over a stale lock of a dead pid', async () => {
    await writeFile(lockFile(), String(await deadPid()));
    const release = await lockDataDir(dir);
    expect(await readFile(lockFile(), 'utf8')).toBe(String(process.pid));
    await release();
  });

  it('takes over a lock naming its own pid that it does not hold (a pid reused after a crash)', async () => {
    await writeFile(lockFile(), String(process.pid));
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toThrow(DataDirInUse);
    await release();
  });

  it('is free again once released, and a second release is harmless', async () => {
    const release = await lockDataDir(dir);
    await release();
    await release();
    await expect(readFile(lockFile(), 'utf8')).rejects.toThrow(/ENOENT/);
    const again = await lockDataDir(dir);
    await again();
  });
});
