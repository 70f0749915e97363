import { randomUUID } from 'node:crypto';
import type { Services } from '@personas/contracts';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { connectDatabase, type DatabaseKind, type Db } from './db/connect';
import { migrateToLatest } from './db/migrate';
import type { Config } from './env';
import { authenticatePerRequest, installAuthBeforeBody } from './http/auth-before-body';
import { documentBodyLimit, installBodyLimits } from './http/body-limits';
import { registerChatStreamRoute } from './http/chat-stream-route';
import { answerClientError } from './http/client-errors';
import { type Authenticate, createContextFactory } from './http/context';
import { installCors } from './http/cors';
import { registerDocs } from './http/docs';
import { registerDocumentUploadRoute } from './http/document-upload-route';
import { installDrainingRefusal } from './http/draining';
import { errorBody, installProblemContentType } from './http/error-body';
import { type IndexHealth, registerHealth } from './http/health';
import { installHostErrorHandlers } from './http/host-errors';
import { installJsonDepthBound } from './http/json-depth';
import { installOpenAiErrorShape } from './http/openai/errors';
import { registerOpenAiRoutes } from './http/openai/routes';
import { RequestLogController } from './http/request-logging';
import { registerRestTransport } from './http/rest-transport';
import { installSecurityHeaders, SECURITY_HEADERS } from './http/security-headers';
import { registerTrpcTransport } from './http/trpc-transport';
import { fastifyTrustProxy } from './http/trust-proxy';
import { CleanupStack } from './lib/cleanup-stack';
import { installHttpMetrics, registerMetricsRoute } from './metrics/http-metrics';
import type { PoolStats } from './metrics/metrics';
import { runWithRequestOrigin } from './lib/request-origin';
import { createLogger, type Logger } from './logger';
import type { ChunkIndexes } from './retrieval/chunk-indexes';
import type { OpenReport } from './retrieval/vector/vector-index-store';
import { createServices } from './services';
import { usersRepository } from './users/repository';
import { ensureAdmin } from './users/service';
import { VERSION } from './version';

export interface App extends AsyncDisposable {
  http: FastifyInstance;
  db: Db;
  databaseKind: DatabaseKind;
  services: Services;
  /** Bearer token → user, as every request's context resolves it. */
  authenticate: Authenticate;
  /** What opening the vector indexes found: loaded from disk, or rebuilt and why (empty while they load). */
  readonly indexReport: OpenReport;
  /**
   * Resolves once the indexes are open: they load in the background, so the host can listen
   * (and `/healthz` answer) at once; searches meanwhile wait briefly, then answer 503.
   */
  indexesLoaded: Promise<void>;
  /** What the ADMIN_EMAIL bootstrap did at start, and whether any admin exists now. */
  admin: {
    bootstrap: 'created' | 'promoted' | 'unchanged' | 'not configured';
    exists: boolean;
  };
  /** The indexes as `/readyz` sees them, and `sync` to catch up with the change log now. */
  indexes: IndexHealth & Pick<ChunkIndexes, 'sync'>;
  /** Stops accepting, answers what is in flight, then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

export type AppConfig = Config & {
  /** Tests pass an already-open database (one per test file); otherwise one is opened here. */
  database?: { db: Db; kind: DatabaseKind };
  /** Where the host and background work log; by default JSON lines on stdout at `logLevel`. */
  logger?: Logger;
  /** The clock quotas judge the day by and usage is stamped with (tests move it). */
  clock?: () => Date;
};

/**
 * Builds the whole server: database (migrated), services, and the HTTP host. Does not listen.
 * A start-up step that fails closes what the steps before it opened, then rethrows.
 */
export async function createApp(config: AppConfig): Promise<App> {
  const logger = config.logger ?? createLogger(config.logLevel);
  const cleanup = new CleanupStack();
  try {
    return await startApp(config, logger, cleanup);
  } catch (error) {
    await cleanup.close().catch((closeError: unknown) => {
      logger.error({ err: closeError }, 'closing after a failed start failed too');
    });
    throw error;
  }
}

/**
 * Every start-up step, each deferring the close of what it opened as soon as it is open: the
 * failure of a later step and the normal shutdown then run the same path, newest first.
 */
async function startApp(config: AppConfig, logger: Logger, cleanup: CleanupStack): Promise<App> {
  const ownsDatabase = !config.database;
  const connected: { db: Db; kind: DatabaseKind; pool?: PoolStats } =
    config.database ?? (await connectDatabase(config, logger));
  const { db, kind } = connected;
  if (ownsDatabase) cleanup.defer(() => db.destroy());
  await migrateToLatest(db);
  const adminBootstrap = config.adminBootstrap
    ? await ensureAdmin(db, config.adminBootstrap)
    : 'not configured';
  const wired = await createServices(db, kind, config, logger);
  // Deferred after the database, so closed before it: indexes are written back while it is
  // open, and the next start loads them instead of rebuilding.
  cleanup.defer(() => wired.close());
  const { services, authenticate } = wired;
  // Typed as Fastify's logger so the instance keeps the FastifyInstance type the routes expect.
  const hostLogger: FastifyBaseLogger = logger;

  const http = Fastify({
    // Request logs carry method, path and ids; never a body, a header or the query string (the
    // logger's request serializer: request-log.ts).
    loggerInstance: hostLogger,
    // Request lines at a level that says whether to look (request-logging.ts).
    logController: new RequestLogController(config.slowRequestMs),
    bodyLimit: Math.max(config.bodyLimitBytes, documentBodyLimit(config.documentLimitBytes)),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming)
        ? incoming
        : randomUUID();
    },
    requestIdHeader: false,
    // `request.ip`, the client address the throttles count by: the socket's, or the forwarded one
    // only from the proxies `TRUST_PROXY` names (anyone can write `X-Forwarded-For`).
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Errors Fastify raises before routing (a malformed URL, a bad header) in our error shape.
    frameworkErrors: (error, _request, rawReply) => {
      const reply = rawReply as FastifyReply;
      // Hooks do not run before routing: the security header every response carries is set here.
      void reply
        .code(400)
        .headers(SECURITY_HEADERS)
        .send(errorBody('BAD_REQUEST', `Bad request: ${error.message}`));
    },
    // Slowloris: a client that trickles its headers or body, or holds a socket idle, is cut off.
    connectionTimeout: config.timeouts.connectionMs,
    requestTimeout: config.timeouts.requestMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    http: {
      headersTimeout: config.timeouts.headersMs,
      // How often Node checks those bounds (its default, 30 s, would let a stall outlive them).
      connectionsCheckingInterval: Math.min(1000, config.timeouts.headersMs),
    },
    clientErrorHandler: answerClientError,
    forceCloseConnections: 'idle',
    // Our own 503 while draining, in the problem shape (draining.ts), not Fastify's.
    return503OnClosing: false,
  });
  // Closed first: stops accepting and answers what is in flight while the services still run.
  cleanup.defer(() => http.close());
  // First of all hooks: everything after it, down to the services, runs inside the request's
  // origin, which the audit trail records.
  http.addHook('onRequest', (request, _reply, done) => {
    runWithRequestOrigin({ ip: request.ip, requestId: String(request.id) }, done);
  });
  http.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  installDrainingRefusal(http);
  const routes = installHostErrorHandlers(http);
  wired.metrics.watchPool(() => connected.pool ?? null);
  installHttpMetrics(http, wired.metrics, routes);
  registerMetricsRoute(http, wired.metrics, config.metricsToken);
  installProblemContentType(http);
  installSecurityHeaders(http);
  await installCors(http, config.corsOrigins);
  installBodyLimits(http, config);
  const authenticateRequest = authenticatePerRequest(authenticate);
  installAuthBeforeBody(http, authenticateRequest);
  installJsonDepthBound(http);
  registerHealth(http, db, wired.indexes);
  const createContext = createContextFactory(services, authenticateRequest);
  await registerTrpcTransport(http, createContext);
  registerChatStreamRoute(http, createContext);
  await registerDocumentUploadRoute(http, createContext, config);
  await registerRestTransport(http, createContext, routes);
  installOpenAiErrorShape(http);
  registerOpenAiRoutes(http, createContext);
  await registerDocs(http, VERSION);
  await http.ready();

  const close = () => cleanup.close();
  return {
    http,
    db,
    databaseKind: kind,
    services,
    authenticate,
    admin: { bootstrap: adminBootstrap, exists: await usersRepository.anyAdmin(db) },
    get indexReport() {
      return wired.indexes.report;
    },
    indexesLoaded: wired.indexes.loaded,
    indexes: wired.indexes,
    close,
    [Symbol.asyncDispose]: close,
  };
}
