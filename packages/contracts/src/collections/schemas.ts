import { z } from 'zod';
import { pageInputSchema, pageOf, timestampSchema } from '../common';
import { documentSchema } from './document-schemas';
import { jsonNumber } from '../json-number';
import { documentAttributesSchema, documentFilterSchema } from './document-filter';
import {
  collectionNameSchema,
  queryMetricSchema,
  ragModeSchema,
  thresholdMisfit,
  thresholdSchema,
} from '../personas/schemas';

export const collectionVisibilitySchema = z
  .enum(['private', 'shared'])
  .meta({ description: 'private: owner and admins; shared: also every builder' });

export const collectionSchema = z
  .object({
    collection_id: z.string(),
    name: z.string(),
    description: z.string(),
    owner_id: z.string(),
    visibility: collectionVisibilitySchema,
    embedding_model: z.string(),
    dimensions: z.number().int(),
    documents: z.number().int(),
    chunks: z.number().int(),
    created_at: timestampSchema,
  })
  .meta({ id: 'Collection' });
export type Collection = z.infer<typeof collectionSchema>;

export const createCollectionInputSchema = z.strictObject({
  name: collectionNameSchema,
  description: z.string().max(2000).optional(),
  visibility: collectionVisibilitySchema.optional(),
});
export type CreateCollectionInput = z.infer<typeof createCollectionInputSchema>;

export const collectionNameInputSchema = z.strictObject({ name: z.string().min(1).max(100) });

export const collectionListSchema = pageOf('collections', collectionSchema);
export type CollectionList = z.infer<typeof collectionListSchema>;

export * from './document-schemas';

export const documentListSchema = pageOf('documents', documentSchema);

export const listDocumentsInputSchema = pageInputSchema.extend({
  name: z.string().min(1).max(100),
});
export type DocumentList = z.infer<typeof documentListSchema>;

/** One document of a collection: what get, retry and delete take. */
export const documentRefInputSchema = z.strictObject({
  name: z.string().min(1).max(100),
  document_id: z.string().min(1).max(100),
});
export const deleteDocumentInputSchema = documentRefInputSchema;

/**
 * One retrieved chunk. `success` says whether it passes the threshold in the chosen metric;
 * both distances are always present (for normalized vectors d² = 2 − 2c).
 */
export const ragHitSchema = z
  .object({
    document_id: z.string().meta({ description: 'The document the chunk belongs to' }),
    file_name: z.string(),
    doc_path: z.string(),
    page: z.number().int().nullable().meta({
      description: 'The 1-based page the chunk came from (PDFs); null for formats without pages',
    }),
    attributes: documentAttributesSchema,
    document_string: z.string(),
    euclidean_distance: z.number(),
    cosine_similarity: z.number(),
    success: z.boolean(),
  })
  .meta({ id: 'RagHit' });
export type RagHit = z.infer<typeof ragHitSchema>;

/**
 * A hit as a message keeps it: messages stored before hits said where they came from lack
 * `document_id`, `page` and `attributes`, and they are shown as they were stored.
 */
export const storedRagHitSchema = ragHitSchema
  .partial({ document_id: true, page: true, attributes: true })
  .meta({
    id: 'StoredRagHit',
    description:
      'The hit as the message keeps it; `document_id`, `page` and `attributes` are absent on messages stored before hits carried them',
  });
export type StoredRagHit = z.infer<typeof storedRagHitSchema>;

export const searchInputSchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    query: z.string().min(1).max(32_000),
    top_k: jsonNumber(z.number().int().min(1).max(20)).optional(),
    metric: queryMetricSchema.optional(),
    threshold: thresholdSchema.optional(),
    mode: ragModeSchema.optional(),
    filter: documentFilterSchema.optional(),
  })
  // A transform that reports, not a refinement: trpc-to-openapi documents a refined body as a
  // plain z.object, which would drop `additionalProperties: false` from the document.
  .transform((input, ctx) => {
    const misfit =
      input.threshold === undefined
        ? undefined
        : thresholdMisfit(input.metric ?? 'cosine', input.threshold);
    if (misfit) ctx.issues.push({ code: 'custom', path: ['threshold'], message: misfit, input });
    return input;
  });
export type SearchInput = z.infer<typeof searchInputSchema>;

export const searchResultSchema = z.object({ hits: z.array(ragHitSchema) });
export type SearchResult = z.infer<typeof searchResultSchema>;
