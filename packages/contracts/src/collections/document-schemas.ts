import { z } from 'zod';
import { timestampSchema } from '../common';
import { jsonNumber } from '../json-number';
import { documentAttributesSchema } from './document-filter';

/** How long an upload may wait for its document to be ready before answering 202. */
export const DEFAULT_UPLOAD_WAIT_SECONDS = 30;
export const MAX_UPLOAD_WAIT_SECONDS = 300;

const fileNameSchema = z.string().trim().min(1).max(255);
const docPathSchema = z.string().max(1000).meta({
  description:
    'Where the document lives in your own tree; a new upload of a non-empty path replaces the ready document of that path once it is ready itself',
});

/** `{file_name, content}`: text or Markdown sent as a JSON string. */
export const textDocumentUploadSchema = z
  .strictObject({
    file_name: fileNameSchema,
    doc_path: docPathSchema.optional(),
    // Bounded by the document size limit (413), checked in bytes by the service.
    content: z.string().refine((c) => c.trim().length > 0, 'Document content is empty'),
    content_type: z.enum(['text/plain', 'text/markdown']).optional(),
    attributes: documentAttributesSchema.optional(),
  })
  .meta({ id: 'TextDocumentUpload', description: 'Text or Markdown, sent as a JSON string' });
export type TextDocumentUpload = z.input<typeof textDocumentUploadSchema>;

/** `{file_name, content_base64}`: any supported file (PDF, DOCX, …) over JSON (tRPC, scripts). */
export const fileDocumentUploadSchema = z
  .strictObject({
    file_name: fileNameSchema,
    doc_path: docPathSchema.optional(),
    content_base64: z
      .string()
      .min(1, 'The file is empty')
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'content_base64 is not base64'),
    content_type: z.string().max(255).optional(),
    attributes: documentAttributesSchema.optional(),
  })
  .meta({
    id: 'FileDocumentUpload',
    description:
      'A file of any supported format (PDF, DOCX, HTML, Markdown, text), base64-encoded: what a JSON-only client (tRPC) sends in place of multipart',
  });

/** `{url}`: the server fetches the page (addresses checked against the URL rules). */
export const urlDocumentUploadSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }).max(2048),
    doc_path: docPathSchema.optional(),
    file_name: fileNameSchema.optional(),
    attributes: documentAttributesSchema.optional(),
  })
  .meta({
    id: 'UrlDocumentUpload',
    description:
      'A page the server fetches (loopback, private, link-local and similar addresses are refused unless allowed by the operator)',
  });

const uploadTarget = {
  name: z.string().min(1).max(100),
  /** REST takes it as the `wait` query parameter. */
  wait: jsonNumber(z.number().int().min(0).max(MAX_UPLOAD_WAIT_SECONDS)).optional(),
};

/**
 * An upload, in one of its JSON forms (a multipart upload reaches the procedure as the file
 * form). Each form is strict, so a body mixing them (`content` and `url`) is a 400.
 */
export const addDocumentInputSchema = z.union([
  textDocumentUploadSchema.extend(uploadTarget),
  fileDocumentUploadSchema.extend(uploadTarget),
  urlDocumentUploadSchema.extend(uploadTarget),
]);
export type AddDocumentInput = z.infer<typeof addDocumentInputSchema>;

export const documentStatusSchema = z.enum(['queued', 'processing', 'ready', 'failed']).meta({
  description:
    'queued → processing → ready, or failed: only a ready document is searchable, all of its chunks at once',
});
export type DocumentStatus = z.infer<typeof documentStatusSchema>;

export const documentFailureCodeSchema = z.enum([
  'unsupported_format',
  'encrypted',
  'no_text',
  'corrupt',
  'too_large',
  'fetch_failed',
  'blocked_address',
  'embedding_failed',
]);
export type DocumentFailureCode = z.infer<typeof documentFailureCodeSchema>;

export const documentSchema = z
  .object({
    document_id: z.string(),
    file_name: z.string(),
    doc_path: z.string(),
    status: documentStatusSchema,
    error: z
      .object({ code: documentFailureCodeSchema, detail: z.string() })
      .optional()
      .meta({ description: 'Why a failed document failed (only when `status` is `failed`)' }),
    progress: z
      .object({
        chunks_done: z.number().int().min(0),
        chunks_total: z.number().int().min(0).nullable(),
      })
      .optional()
      .meta({
        description:
          'While queued or processing: chunks embedded so far, of how many (null until extracted)',
      }),
    pages: z.number().int().min(1).optional().meta({ description: 'Page count of a PDF' }),
    chunks: z.number().int().meta({ description: 'Searchable chunks (0 until ready)' }),
    bytes: z.number().int().meta({ description: 'Size of the uploaded or fetched file' }),
    content_type: z.string(),
    attributes: documentAttributesSchema,
    url: z.string().optional().meta({ description: 'The URL it was fetched from, if any' }),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({ id: 'Document' });
export type CollectionDocument = z.infer<typeof documentSchema>;
