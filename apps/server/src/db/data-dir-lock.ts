import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

/**
 * Lock files this process holds. A lock file naming this process's pid does not prove that: after
 * a crash the next process may get the same pid (a container's server is always pid 1).
 */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file holding this pid; false when it already exists. Atomic (`wx`). */
async function createLockFile(file: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(String(process.pid));
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/**
 * Who holds an existing lock file: a pid; `unknown` when it holds none (its creator has not
 * written it yet); `released` when it is already gone again.
 */
async function readHolder(file: string): Promise<number | 'unknown' | 'released'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'released';
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 'unknown';
}

function inUse(dir: string, file: string, holder: number | 'unknown' | 'released'): DataDirInUse {
  return new DataDirInUse(
    typeof holder === 'number'
      ? `The embedded database in ${dir} is in use by process ${holder}: stop it first, or use DATABASE_URL`
      : `The embedded database in ${dir} is being locked by another process (${file} names no ` +
          'process yet): stop it first, or use DATABASE_URL. If no server is running, delete that file',
  );
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A pid file, created atomically (`wx`: of two openers exactly one creates it), refuses the
 * second opener (the CLI while the server runs) with a clear message. A file left by a crash —
 * its pid is dead, or is this process's own pid without this process holding it — is removed and
 * the creation retried once. (Two processes taking over the same stale file in the same instant
 * could both remove and recreate it; after a crash, that window is accepted.)
 *
 * @returns the release: removes the file. Safe to call twice.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.resolve(dir, 'personas.pid');
  // Claimed in this process before the first await, so a concurrent call here loses at once.
  if (heldHere.has(file)) throw inUse(dir, file, process.pid);
  heldHere.add(file);
  try {
    if (!(await createLockFile(file))) {
      const holder = await readHolder(file);
      const stale =
        holder === 'released' ||
        (typeof holder === 'number' && (holder === process.pid || !isAlive(holder)));
      if (!stale) throw inUse(dir, file, holder);
      await rm(file, { force: true });
      if (!(await createLockFile(file))) throw inUse(dir, file, await readHolder(file));
    }
  } catch (error) {
    heldHere.delete(file);
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(file, { force: true });
    heldHere.delete(file);
  };
}
