import { createApp } from './app';
import { ConfigError, loadConfig } from './env';

/** The process entry point: config, app, listen, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  const log = app.http.log;
  await app.http.listen({ host: config.host, port: config.port });
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // One structured line that says what started, whatever LOG_LEVEL hides (unless silent).
  if (config.logLevel !== 'silent') {
    log.child({}, { level: 'info' }).info(
      {
        url,
        docs: `${url}/docs`,
        database: app.databaseKind,
        providers: { embeddings: config.embeddingsProvider, language_model: config.llmProvider },
        admin: app.admin.bootstrap,
        indexes: 'loading',
      },
      `Personas listening on ${url}`,
    );
    // And one when searches can be served (`/readyz` turns 200), with what the start found.
    void app.indexesLoaded.then(() => {
      const { loaded, replayed, rebuilt, lexical } = app.indexes.status();
      log
        .child({}, { level: 'info' })
        .info(
          { vector_indexes: { loaded, replayed, rebuilt }, lexical_indexes: lexical },
          'Personas ready: indexes loaded',
        );
    });
  }
  if (!app.admin.exists) {
    log.warn(
      'No admin account exists, so nobody can promote builders or manage users. Create one with ' +
        '`npm run cli -- create-user --email you@example.com --password … --role admin` (stop the ' +
        'server first on the embedded database), or set ADMIN_EMAIL and ADMIN_PASSWORD.',
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining requests');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => {
        log.info('shutdown complete');
        process.exitCode = 0;
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else
    process.stderr.write(
      `Failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  process.exitCode = 1;
});
