import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type App, createApp } from '../app';
import { loadConfig } from '../env';
import { type RestCall, restClient } from './rest-client';
import { openTestDatabase, type TestDatabase } from './test-database';
import { UNTHROTTLED_ADDRESS_ENV } from './throttle-env';

export interface TestApp extends AsyncDisposable {
  /** The running app: another one after each `restart`. */
  readonly app: App;
  /** REST through the whole HTTP stack of whichever app is running. */
  api: RestCall;
  database: TestDatabase;
  dataDir: string;
  /**
   * Closes the app and starts another on the same database and data directory, as a server
   * process restarts. `whileDown` runs in between: to damage the files as a crash would.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/**
 * The whole server on a fresh test database and data directory, not listening (use inject);
 * both are removed on dispose.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: {
    clock?: () => Date;
    /** false: return while the indexes still load (to test what answers meanwhile). */
    awaitIndexes?: boolean;
  } = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-test-'));
  const database = await openTestDatabase();
  const start = async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      ...UNTHROTTLED_ADDRESS_ENV,
      ...env,
    });
    const app = await createApp({ ...config, database, clock: opts.clock });
    if (opts.awaitIndexes !== false) await app.indexesLoaded;
    return app;
  };
  const removeData = async () => {
    await database[Symbol.asyncDispose]();
    await rm(dataDir, { recursive: true, force: true });
  };
  let app: App;
  try {
    app = await start();
  } catch (error) {
    await removeData();
    throw error;
  }
  const api: RestCall = (method, url, opts) => restClient(app.http)(method, url, opts);
  return {
    get app() {
      return app;
    },
    api,
    database,
    dataDir,
    async restart(whileDown) {
      await app.close();
      await whileDown?.();
      app = await start();
    },
    async [Symbol.asyncDispose]() {
      await app.close();
      await removeData();
    },
  };
}
