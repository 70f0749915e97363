import { DomainError, toTRPCError } from '@personas/contracts';
import type { FastifyError, FastifyInstance } from 'fastify';
import { type ErrorBody, errorBody, errorBodyFromTrpcError } from './error-body';
import { KnownRoutes } from './known-routes';
import { retryAfterHeaders } from './retry-after-headers';

/**
 * Routes that take every path under them and answer for themselves, so they say nothing about
 * which methods a path serves: CORS's `OPTIONS *`, the REST adapter's `/api/*` (its operations
 * are added from the procedures' meta instead) and tRPC's `/trpc/:path` (tRPC's own 405).
 */
const CATCH_ALLS = /^(\*|\/api\/\*|\/trpc\/.*)$/;

/** Errors Fastify raises itself, before any procedure runs, mapped to a status and a body. */
const HOST_ERRORS: Record<string, ErrorBody> = {
  FST_ERR_CTP_INVALID_JSON_BODY: errorBody('PARSE_ERROR', 'Malformed JSON in request body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: errorBody(
    'PARSE_ERROR',
    'Content-Type is application/json but the body is empty',
  ),
  FST_ERR_CTP_BODY_TOO_LARGE: errorBody(
    'PAYLOAD_TOO_LARGE',
    'Request body is larger than the server accepts',
  ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: errorBody(
    'UNSUPPORTED_MEDIA_TYPE',
    'Unsupported Content-Type: send application/json',
  ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: errorBody(
    'BAD_REQUEST',
    'Content-Length does not match the body',
  ),
};

/**
 * Unknown paths → 404; a known path with a method it does not serve → 405 with `Allow`;
 * host-level failures → their 4xx; anything else → a bare 500. Install before any route: the
 * returned table learns every route registered after it (add the REST operations to it).
 */
export function installHostErrorHandlers(app: FastifyInstance): KnownRoutes {
  const routes = new KnownRoutes();
  app.addHook('onRoute', (route) => {
    if (!CATCH_ALLS.test(route.url)) {
      routes.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = routes.allowed(path);
    if (allow.length > 0) {
      const detail = `${request.method} is not supported on ${path}; it serves ${allow.join(', ')}`;
      void reply
        .code(405)
        .header('allow', allow.join(', '))
        .send(errorBody('METHOD_NOT_SUPPORTED', detail));
      return;
    }
    void reply.code(404).send(errorBody('NOT_FOUND', `No route ${request.method} ${path}`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error.code ? HOST_ERRORS[error.code] : undefined;
    if (known) {
      void reply.code(known.status).send(known);
      return;
    }
    if ((error as unknown) instanceof DomainError) {
      // A domain failure raised in a hook, before any procedure (the database unreachable while
      // the token of a request with a body is checked): its own status, never a 500.
      const translated = toTRPCError(error);
      const body = errorBodyFromTrpcError(translated);
      void reply
        .code(body.status)
        .headers(retryAfterHeaders([translated]))
        .send(body);
      return;
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // A 4xx Fastify or Node raised itself (408, 431, …): its status, our body.
      void reply.code(status).send(errorBody('BAD_REQUEST', error.message, { status }));
      return;
    }
    request.log.error({ err: error }, 'unhandled error');
    void reply.code(500).send(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'));
  });
  return routes;
}
