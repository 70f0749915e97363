import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-body';

/** Document uploads carry up to the document limit; everything else the general body limit. */
const DOCUMENT_UPLOAD =
  /^\/(api\/collections\/[^/?]+\/documents|trpc\/collections\.addDocument)(\?|$)/;

/** JSON escaping can double a text's size (every newline becomes `\n`), plus room for the fields. */
export function documentBodyLimit(documentLimitBytes: number): number {
  return documentLimitBytes * 2 + 64 * 1024;
}

/**
 * Fastify's `bodyLimit` is one number for the server; document uploads need a larger one than
 * the rest. Fastify enforces the larger; this hook refuses a declared Content-Length over the
 * route's own limit before a byte of the body is read.
 */
export function installBodyLimits(
  app: FastifyInstance,
  limits: { bodyLimitBytes: number; documentLimitBytes: number },
): void {
  const documentLimit = documentBodyLimit(limits.documentLimitBytes);
  app.addHook('onRequest', async (request, reply) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    const limit =
      request.method === 'POST' && DOCUMENT_UPLOAD.test(request.url)
        ? documentLimit
        : limits.bodyLimitBytes;
    if (declared > limit) {
      const detail = `Request body is ${declared} bytes; this route accepts at most ${limit}`;
      return reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE', detail));
    }
  });
}
