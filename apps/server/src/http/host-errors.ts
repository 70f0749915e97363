import type { FastifyError, FastifyInstance } from 'fastify';
import { type ErrorBody, errorBody } from './error-body';

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

/** Unknown routes → 404; host-level failures → their 4xx; anything else → a bare 500. */
export function installHostErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const detail = `No route ${request.method} ${request.url.split('?')[0]}`;
    void reply.code(404).send(errorBody('NOT_FOUND', detail));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error.code ? HOST_ERRORS[error.code] : undefined;
    if (known) {
      void reply.code(known.status).send(known);
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
}
