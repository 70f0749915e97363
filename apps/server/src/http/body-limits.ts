import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';

/** Document uploads carry up to the document limit; everything else the general body limit. */
const DOCUMENT_UPLOAD =
  /^\/(api\/collections\/[^/?]+\/documents|trpc\/collections\.addDocument)(\?|$)/;

/** JSON escaping can double a text's size (every newline becomes `\n`), plus room for the fields. */
export function documentBodyLimit(documentLimitBytes: number): number {
  return documentLimitBytes * 2 + 64 * 1024;
}

function tooLarge(limit: number) {
  return Object.assign(
    new Error(`Request body is larger than this route accepts (at most ${limit} bytes)`),
    { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  );
}

/**
 * Passes the body through, counting its bytes, and fails the moment they pass `limit`: what
 * refuses a chunked body (no Content-Length to check up front) while it is being received.
 */
class ByteLimit extends Transform {
  private received = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.received += chunk.length;
    if (this.received > this.limit) callback(tooLarge(this.limit));
    else callback(null, chunk);
  }
}

/**
 * Fastify's `bodyLimit` is one number for the server; document uploads need a larger one than
 * the rest. This refuses a declared Content-Length over the route's own limit before a byte of
 * the body is read, and counts the bytes actually received against it (a chunked body declares
 * nothing), answering 413 and closing the connection as soon as they pass it.
 */
export function installBodyLimits(
  app: FastifyInstance,
  limits: { bodyLimitBytes: number; documentLimitBytes: number },
): void {
  const documentLimit = documentBodyLimit(limits.documentLimitBytes);
  const limitOf = (request: FastifyRequest) =>
    request.method === 'POST' && DOCUMENT_UPLOAD.test(request.url)
      ? documentLimit
      : limits.bodyLimitBytes;
  app.addHook('onRequest', async (request, reply) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    const limit = limitOf(request);
    if (declared > limit) {
      const detail = `Request body is ${declared} bytes; this route accepts at most ${limit}`;
      return reply
        .code(413)
        .header('connection', 'close')
        .send(errorBody('PAYLOAD_TOO_LARGE', detail));
    }
  });
  app.addHook('preParsing', async (request, reply, payload) => {
    const limited = new ByteLimit(limitOf(request));
    // The rest of an oversize body is not worth reading: the connection ends with the answer.
    limited.once('error', () => void reply.header('connection', 'close'));
    // Not `pipeline`: it would destroy the request, and the socket with it, before the 413 is
    // written. A client that aborts mid-body still fails the parse instead of stalling it.
    payload.once('error', (error) => limited.destroy(error));
    return payload.pipe(limited);
  });
}
