import {
  type AddDocumentInput,
  appRouter,
  BadRequestError,
  createCallerFactory,
  toTRPCError,
} from '@personas/contracts';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { createContextFactory } from './context';
import { errorBody, errorBodyFromTrpcError } from './error-body';
import { type MultipartUpload, readMultipartUpload } from './multipart-upload';
import { retryAfterHeaders } from './retry-after-headers';

const createCaller = createCallerFactory(appRouter);

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType?.split(';')[0] ?? '').trim().toLowerCase();
}

/** JSON or a form: anything else is a 415 before a byte of the body is read. */
async function refuseOtherBodies(request: FastifyRequest, reply: FastifyReply) {
  const type = mediaTypeOf(request.headers['content-type']);
  if (type === 'application/json' || type === 'multipart/form-data') return;
  const detail = type
    ? `Unsupported Content-Type ${type}: send application/json or multipart/form-data`
    : 'The body has no Content-Type: send application/json or multipart/form-data';
  return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', detail));
}

/** `?wait=` in whole seconds; the procedure bounds it. */
function waitOf(query: unknown): number | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.wait;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw)) {
    throw new BadRequestError('wait must be a whole number of seconds (0 answers at once)');
  }
  return Number(raw);
}

/** A form's fields as the procedure's file form: the bytes travel as base64 through the caller. */
function inputOfForm(form: MultipartUpload): Record<string, unknown> {
  let attributes: unknown;
  if (form.fields.attributes !== undefined) {
    try {
      attributes = JSON.parse(form.fields.attributes);
    } catch {
      throw new BadRequestError('attributes must be a JSON object, e.g. {"lang":"en"}');
    }
  }
  const declared = form.file.mediaType.toLowerCase();
  return {
    file_name: form.fields.file_name ?? form.file.fileName,
    ...(form.fields.doc_path !== undefined ? { doc_path: form.fields.doc_path } : {}),
    content_base64: form.file.bytes.toString('base64'),
    // A browser's default type says nothing about the format: leave it to the bytes.
    ...(declared && declared !== 'application/octet-stream' ? { content_type: declared } : {}),
    ...(attributes !== undefined ? { attributes } : {}),
  };
}

/**
 * `POST /api/collections/{name}/documents`: the JSON forms and `multipart/form-data`, `?wait=`,
 * and 200 or 202 with `Location`. trpc-to-openapi reads only JSON bodies and no query string on
 * a POST, so this route parses the body itself and calls the `collections.addDocument` procedure
 * through tRPC's caller: authentication, scopes, `Idempotency-Key` (for a form, over its file's
 * bytes and fields), validation and error mapping are the ones every route gets.
 */
export async function registerDocumentUploadRoute(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
  limits: { documentLimitBytes: number },
): Promise<void> {
  await app.register(async (scope) => {
    // The form is read from the stream the body limit already counts (installBodyLimits), and
    // its file refused the moment it passes the document limit.
    scope.addContentTypeParser('multipart/form-data', (request, payload, done) => {
      readMultipartUpload(payload, request.headers, limits.documentLimitBytes).then(
        (form) => done(null, form),
        (error: Error) => done(error),
      );
    });
    scope.post<{ Params: { name: string } }>(
      '/api/collections/:name/documents',
      { onRequest: refuseOtherBodies },
      async (request, reply) => {
        try {
          const isForm = mediaTypeOf(request.headers['content-type']) === 'multipart/form-data';
          const body = isForm
            ? inputOfForm(request.body as MultipartUpload)
            : typeof request.body === 'object' && request.body !== null
              ? request.body
              : {};
          const wait = waitOf(request.query);
          const input = {
            ...body,
            name: request.params.name,
            ...(wait !== undefined ? { wait } : {}),
          } as AddDocumentInput;
          const context = await createContext({ req: request });
          const document = await createCaller(context).collections.addDocument(input);
          if (document.status === 'ready' || document.status === 'failed') {
            return reply.code(200).send(document);
          }
          const location = `/api/collections/${encodeURIComponent(request.params.name)}/documents/${document.document_id}`;
          return reply.code(202).header('location', location).send(document);
        } catch (thrown) {
          const error = toTRPCError(thrown);
          if (error.code === 'INTERNAL_SERVER_ERROR') {
            request.log.error({ err: error.cause ?? error }, 'document upload failed');
          }
          return reply
            .code(getHTTPStatusCodeFromError(error))
            .headers(retryAfterHeaders([error]))
            .send(errorBodyFromTrpcError(error));
        }
      },
    );
  });
}
