import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthUser, Role } from '@personas/contracts';
import { type App, createApp } from '../src/app';
import { connectDatabase, type DatabaseKind } from '../src/db/connect';
import { loadConfig } from '../src/env';
import { createLogger } from '../src/logger';
import { readBenchEnv } from './bench-env';

export interface BenchApp extends AsyncDisposable {
  app: App;
  url: string;
  databaseKind: DatabaseKind;
  /** A session token of a user with the requested role, and that user as the services see it. */
  token: string;
  actor: AuthUser;
}

/**
 * The whole server listening on a free port, on BENCH_DATABASE_URL or an in-memory PGlite with
 * a temporary data directory, logging nothing, with one signed-in user of `role`.
 */
export async function startBenchApp(
  role: Role,
  env: Record<string, string> = {},
): Promise<BenchApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-bench-'));
  const database = await connectDatabase(
    { databaseUrl: readBenchEnv().BENCH_DATABASE_URL ?? null, dataDir: null },
    createLogger('warn'),
  );
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    NODE_ENV: 'production',
    ...env,
  });
  const app = await createApp({ ...config, database });
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  const session = await app.services.auth.register(
    { email: `bench-${Date.now()}@example.com`, password: 'bench-password' },
    '127.0.0.1',
  );
  await app.db.updateTable('users').set({ role }).where('id', '=', session.user_id).execute();
  const actor = await app.authenticate(session.token);
  if (!actor) throw new Error('the bench user could not sign in');
  return {
    app,
    url,
    databaseKind: database.kind,
    token: session.token,
    actor,
    async [Symbol.asyncDispose]() {
      await app.close();
      await database.db.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
