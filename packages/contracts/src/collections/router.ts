import type { TRPCRouterRecord } from '@trpc/server';
import { messageSchema, pageInputSchema } from '../common';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { builderProcedure, idempotent } from '../trpc';
import {
  addDocumentInputSchema,
  collectionListSchema,
  collectionNameInputSchema,
  collectionSchema,
  createCollectionInputSchema,
  deleteDocumentInputSchema,
  documentRefInputSchema,
  documentSchema,
  documentListSchema,
  listDocumentsInputSchema,
  searchInputSchema,
  searchResultSchema,
} from './schemas';

const tags: ApiTag[] = ['collections'];
const notReadable = [f.notBuilder, f.collectionNotFound];
const ownerOnly = [f.notBuilder, f.notCollectionOwner, f.collectionNotFound];

export const collectionsRouter = {
  create: builderProcedure
    .use(idempotent)
    .meta(
      rest('POST', '/collections', {
        idempotent: true,
        tags,
        summary: 'Create a collection (builder, admin)',
        errors: [f.notBuilder, f.collectionNameTaken],
      }),
    )
    .input(createCollectionInputSchema)
    .output(collectionSchema)
    .mutation(({ ctx, input }) => ctx.services.collections.create(ctx.user, input)),

  list: builderProcedure
    .meta(
      rest('GET', '/collections', {
        tags,
        summary: 'Collections you may read',
        errors: [f.notBuilder],
      }),
    )
    .input(pageInputSchema.optional())
    .output(collectionListSchema)
    .query(({ ctx, input }) => ctx.services.collections.list(ctx.user, input ?? {})),

  get: builderProcedure
    .meta(
      rest('GET', '/collections/{name}', { tags, summary: 'One collection', errors: notReadable }),
    )
    .input(collectionNameInputSchema)
    .output(collectionSchema)
    .query(({ ctx, input }) => ctx.services.collections.get(ctx.user, input.name)),

  delete: builderProcedure
    .meta(
      rest('DELETE', '/collections/{name}', {
        tags,
        summary: 'Delete a collection, its documents and chunks; personas stop using it',
        errors: ownerOnly,
      }),
    )
    .input(collectionNameInputSchema)
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.collections.delete(ctx.user, input.name)),

  // REST reaches it through its own route (JSON forms, multipart, `?wait=`, 202 + Location:
  // http/document-upload-route.ts), which calls it through the caller; the operation is
  // described by hand (openapi-document-upload.ts), since its body is one of several forms.
  addDocument: builderProcedure
    .use(idempotent)
    .input(addDocumentInputSchema)
    .output(documentSchema)
    .mutation(({ ctx, input }) => ctx.services.collections.addDocument(ctx.user, input)),

  getDocument: builderProcedure
    .meta(
      rest('GET', '/collections/{name}/documents/{document_id}', {
        tags,
        summary: 'One document: its ingestion status, progress or error, and attributes',
        errors: [...notReadable, f.documentNotFound],
      }),
    )
    .input(documentRefInputSchema)
    .output(documentSchema)
    .query(({ ctx, input }) =>
      ctx.services.collections.getDocument(ctx.user, input.name, input.document_id),
    ),

  retryDocument: builderProcedure
    .meta(
      rest('POST', '/collections/{name}/documents/{document_id}/retry', {
        tags,
        summary: 'Queue a failed document again (its uploaded file was kept)',
        description:
          'Answers the document as it stands (`queued`); poll `GET /collections/{name}/documents/{document_id}` until it is `ready` or `failed`.',
        errors: [...ownerOnly, f.documentNotFound, f.documentNotFailed],
      }),
    )
    .input(documentRefInputSchema)
    .output(documentSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.collections.retryDocument(ctx.user, input.name, input.document_id),
    ),

  listDocuments: builderProcedure
    .meta(
      rest('GET', '/collections/{name}/documents', {
        tags,
        summary: 'Documents of a collection, whatever their status',
        errors: notReadable,
      }),
    )
    .input(listDocumentsInputSchema)
    .output(documentListSchema)
    .query(({ ctx, input }) => ctx.services.collections.listDocuments(ctx.user, input.name, input)),

  deleteDocument: builderProcedure
    .meta(
      rest('DELETE', '/collections/{name}/documents/{document_id}', {
        tags,
        summary:
          'Delete a document; its chunks leave the index at once (a queued or processing one is cancelled)',
        errors: [...ownerOnly, f.documentNotFound],
      }),
    )
    .input(deleteDocumentInputSchema)
    .output(messageSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.collections.deleteDocument(ctx.user, input.name, input.document_id),
    ),

  search: builderProcedure
    .meta(
      rest('POST', '/collections/{name}/search', {
        tags,
        summary: 'The retrieval a persona would do, without a model',
        description:
          'Returns the top_k nearest chunks in rank order, each with both distances and whether it passes the threshold in the chosen metric (success). A persona puts the passing ones in its context.',
        errors: [
          ...notReadable,
          f.otherEmbedder,
          f.embeddingFailed,
          f.embeddingTimedOut,
          f.indexesLoading,
        ],
      }),
    )
    .input(searchInputSchema)
    .output(searchResultSchema)
    .mutation(({ ctx, input }) => ctx.services.collections.search(ctx.user, input)),
} satisfies TRPCRouterRecord;
