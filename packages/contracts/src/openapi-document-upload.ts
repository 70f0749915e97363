import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  DEFAULT_UPLOAD_WAIT_SECONDS,
  documentSchema,
  fileDocumentUploadSchema,
  MAX_UPLOAD_WAIT_SECONDS,
  textDocumentUploadSchema,
  urlDocumentUploadSchema,
} from './collections/document-schemas';
import { type Failure, failures as f } from './openapi-errors';

export const DOCUMENT_UPLOAD_PATH = '/collections/{name}/documents';

/** What the upload can fail with, beyond a token, a database and `Idempotency-Key`. */
export const documentUploadFailures: readonly Failure[] = [
  f.invalidInput,
  f.badUpload,
  f.blockedAddress,
  f.notBuilder,
  f.notCollectionOwner,
  f.collectionNotFound,
  f.otherEmbedder,
  f.uploadTooLarge,
  f.bodyTooLarge,
  f.malformedJson,
  f.unsupportedFormat,
  f.notAnUpload,
  f.uploadSuperseded,
];

/** The multipart form: one file part, and the JSON form's optional fields as text. */
const multipartUploadSchema = z
  .object({
    file: z.string().meta({
      format: 'binary',
      description:
        'The file (PDF, DOCX, HTML, Markdown or text). Its part’s filename is the default `file_name`, its Content-Type a hint to the format',
    }),
    doc_path: z.string().max(1000).optional(),
    file_name: z.string().min(1).max(255).optional(),
    attributes: z.string().optional().meta({
      description: 'A JSON object as text, e.g. `{"lang":"en"}` (see `DocumentAttributes`)',
    }),
  })
  .meta({ id: 'MultipartDocumentUpload' });

const documentBody = { 'application/json': { schema: documentSchema } };

/**
 * The upload is a Fastify route of its own (JSON in three forms, or multipart; `?wait=`; 200 or
 * 202 with `Location`) that calls the `collections.addDocument` procedure, so it is described
 * here. The document completes it with its error responses and `Idempotency-Key`.
 */
export function documentUploadPaths(): ZodOpenApiPathsObject {
  return {
    [DOCUMENT_UPLOAD_PATH]: {
      post: {
        operationId: 'collections-addDocument',
        summary: 'Add a document: a file (multipart), text, base64 bytes or a URL',
        description: [
          'The document exists from the moment the upload is accepted and is ingested by a durable job: `queued` → `processing` → `ready` (or `failed`, with `error.code`). Its chunks become searchable together, when it is `ready`.',
          '',
          'The answer waits up to `wait` seconds: **200** with the ready (or failed) document, else **202** with the document as it stands and a `Location` to poll.',
          '',
          'A non-empty `doc_path` already held by a ready document makes a new document that replaces it when it becomes ready; until then the old one stays searchable, and if the new one fails the old one stays. When uploads of one path race, the last one accepted wins.',
          '',
          'Checked at once, with nothing stored: the size (413), the format from the first bytes (415), the URL’s address (400), the attributes (400).',
        ].join('\n'),
        tags: ['collections'],
        requestParams: {
          path: z.object({ name: z.string().min(1).max(100) }),
          query: z.object({
            wait: z
              .number()
              .int()
              .min(0)
              .max(MAX_UPLOAD_WAIT_SECONDS)
              .optional()
              .meta({
                description: `Seconds to wait for the document to be ready before answering 202 (default ${DEFAULT_UPLOAD_WAIT_SECONDS}; 0 answers at once)`,
                example: 0,
              }),
          }),
        },
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: z.union([
                textDocumentUploadSchema,
                fileDocumentUploadSchema,
                urlDocumentUploadSchema,
              ]),
            },
            'multipart/form-data': {
              schema: multipartUploadSchema,
              encoding: { attributes: { contentType: 'application/json' } },
            },
          },
        },
        responses: {
          200: {
            description: 'The document, settled within `wait`: `ready` (or `failed`, with `error`)',
            content: documentBody,
          },
          202: {
            description:
              'Accepted: the document as it stands (`queued` or `processing`); poll `Location` until it is `ready` or `failed`',
            headers: z.object({
              Location: z.string().meta({
                description: 'Where to poll: `/api/collections/{name}/documents/{document_id}`',
                example:
                  '/api/collections/tea-guides/documents/9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
              }),
            }),
            content: documentBody,
          },
        },
      },
    },
  };
}
