import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type App, createApp } from '../app';
import { loadConfig } from '../env';
import { openTestDatabase, type TestDatabase } from './test-database';

export interface TestApp extends AsyncDisposable {
  app: App;
  database: TestDatabase;
  dataDir: string;
}

/**
 * The whole server on a test database and data directory, not listening (use inject). Both are
 * fresh and removed on dispose — unless passed in, which is how a test restarts the server on
 * the same data: close the first app, then start another on its `database` and `dataDir`.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  reuse: { database?: TestDatabase; dataDir?: string } = {},
): Promise<TestApp> {
  const dataDir = reuse.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'personas-test-')));
  const database = reuse.database ?? (await openTestDatabase());
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...env });
  const app = await createApp({ ...config, database });
  return {
    app,
    database,
    dataDir,
    async [Symbol.asyncDispose]() {
      await app.close();
      if (!reuse.database) await database[Symbol.asyncDispose]();
      if (!reuse.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
