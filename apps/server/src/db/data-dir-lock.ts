import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A pid file refuses the second opener (the CLI while the server runs) with a clear message;
 * a stale file left by a crash is taken over.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'personas.pid');
  const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
    throw new DataDirInUse(
      `The embedded database in ${dir} is in use by process ${holder}: stop it first, or use DATABASE_URL`,
    );
  }
  await writeFile(file, String(process.pid));
  return () => rm(file, { force: true });
}
