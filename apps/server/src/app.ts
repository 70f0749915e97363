import { randomUUID } from 'node:crypto';
import type { Services } from '@personas/contracts';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { connectDatabase, type DatabaseKind, type Db } from './db/connect';
import { migrateToLatest } from './db/migrate';
import type { Config } from './env';
import { documentBodyLimit, installBodyLimits } from './http/body-limits';
import { registerChatStreamRoute } from './http/chat-stream-route';
import { type Authenticate, createContextFactory } from './http/context';
import { registerDocs } from './http/docs';
import { errorBody } from './http/error-body';
import { registerHealth } from './http/health';
import { installHostErrorHandlers } from './http/host-errors';
import { registerRestTransport } from './http/rest-transport';
import { registerTrpcTransport } from './http/trpc-transport';
import type { OpenReport } from './retrieval/vector/vector-index-store';
import { createServices } from './services';
import { ensureAdmin } from './users/service';
import { VERSION } from './version';

export interface App extends AsyncDisposable {
  http: FastifyInstance;
  db: Db;
  databaseKind: DatabaseKind;
  services: Services;
  /** Bearer token → user, as every request's context resolves it. */
  authenticate: Authenticate;
  /** What opening the vector indexes found: loaded from disk, or rebuilt and why. */
  indexReport: OpenReport;
  /** Stops accepting, answers what is in flight, then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

export type AppConfig = Config & {
  /** Tests pass an already-open database (one per test file); otherwise one is opened here. */
  database?: { db: Db; kind: DatabaseKind };
};

/** Builds the whole server: database (migrated), services, and the HTTP host. Does not listen. */
export async function createApp(config: AppConfig): Promise<App> {
  const ownsDatabase = !config.database;
  const { db, kind } = config.database ?? (await connectDatabase(config));
  let wired: Awaited<ReturnType<typeof createServices>>;
  try {
    await migrateToLatest(db);
    if (config.adminBootstrap) await ensureAdmin(db, config.adminBootstrap);
    wired = await createServices(db, kind, config);
  } catch (error) {
    if (ownsDatabase) await db.destroy();
    throw error;
  }
  const { services, authenticate } = wired;

  const http = Fastify({
    logger: {
      level: config.logLevel,
      // Request logs carry method, url and ids; never a body, and never an Authorization header.
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    bodyLimit: Math.max(config.bodyLimitBytes, documentBodyLimit(config.documentLimitBytes)),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming)
        ? incoming
        : randomUUID();
    },
    requestIdHeader: false,
    // Errors Fastify raises before routing (a malformed URL, a bad header) in our error shape.
    frameworkErrors: (error, _request, rawReply) => {
      const reply = rawReply as FastifyReply;
      void reply.code(400).send(errorBody('BAD_REQUEST', `Bad request: ${error.message}`));
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  http.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  installHostErrorHandlers(http);
  installBodyLimits(http, config);
  registerHealth(http, db, wired.indexReport);
  const createContext = createContextFactory(services, authenticate);
  await registerTrpcTransport(http, createContext);
  registerChatStreamRoute(http, createContext);
  await registerRestTransport(http, createContext);
  await registerDocs(http, VERSION);
  await http.ready();

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await http.close();
      // Indexes are written back before the database closes: the next start then loads them
      // instead of rebuilding.
      await wired.close();
      if (ownsDatabase) await db.destroy();
    })();
    return closing;
  };
  return {
    http,
    db,
    databaseKind: kind,
    services,
    authenticate,
    indexReport: wired.indexReport,
    close,
    [Symbol.asyncDispose]: close,
  };
}
