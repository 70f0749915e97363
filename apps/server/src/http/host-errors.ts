import type { FastifyError, FastifyInstance } from 'fastify';
import type { ErrorBody } from './error-body';

/** Errors Fastify raises itself, before any procedure runs, mapped to a sentence and a code. */
const HOST_ERRORS: Record<string, { status: number; code: string; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'PARSE_ERROR',
    detail: 'Malformed JSON in request body',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'PARSE_ERROR',
    detail: 'Content-Type is application/json but the body is empty',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'Request body is larger than the server accepts',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'Unsupported Content-Type: send application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_REQUEST',
    detail: 'Content-Length does not match the body',
  },
};

/** Unknown routes → 404 `{detail}`; host-level failures → their 4xx; anything else → a bare 500. */
export function installHostErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      detail: `No route ${request.method} ${request.url.split('?')[0]}`,
      code: 'NOT_FOUND',
    };
    void reply.code(404).send(body);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error.code ? HOST_ERRORS[error.code] : undefined;
    if (known) {
      void reply.code(known.status).send({ detail: known.detail, code: known.code });
      return;
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      void reply.code(status).send({ detail: error.message, code: 'BAD_REQUEST' });
      return;
    }
    request.log.error({ err: error }, 'unhandled error');
    void reply.code(500).send({ detail: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' });
  });
}
