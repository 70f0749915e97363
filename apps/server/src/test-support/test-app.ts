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

/** The whole server on a fresh test database and data directory, not listening (use inject). */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-test-'));
  const database = await openTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...env });
  const app = await createApp({ ...config, database });
  return {
    app,
    database,
    dataDir,
    async [Symbol.asyncDispose]() {
      await app.close();
      await database[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
