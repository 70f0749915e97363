import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The media type of a Content-Type header, without its parameters, lower-cased. */
function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * An `onRequest` hook for routes that take JSON bodies: any other declared media type (or a body
 * with none) is a 415, answered before a byte of the body is read — Fastify would otherwise parse
 * `text/plain` itself and hand the route a string. A body-less request (logout, a DELETE) passes.
 */
export async function refuseNonJsonBody(request: FastifyRequest, reply: FastifyReply) {
  if (!BODY_METHODS.has(request.method)) return;
  const contentType = request.headers['content-type'];
  const hasBody =
    Number(request.headers['content-length'] ?? 0) > 0 ||
    request.headers['transfer-encoding'] !== undefined;
  if (contentType === undefined ? !hasBody : mediaTypeOf(contentType) === 'application/json') {
    return;
  }
  const detail = contentType
    ? `Unsupported Content-Type ${mediaTypeOf(contentType)}: send application/json`
    : 'The body has no Content-Type: send application/json';
  return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', detail));
}
