import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type AuthUser,
  BadRequestError,
  type Collection,
  ConflictError,
  ForbiddenError,
  METRIC_DEFAULTS,
  NotFoundError,
  PayloadTooLargeError,
  type RagMode,
  type Services,
} from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import type { Db } from '../db/connect';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors';
import { chunkDocument, chunkEmbeddingText } from '../ingestion/chunker';
import type { Embedder } from '../ingestion/embeddings/embedder';
import { KeyedMutex } from '../lib/keyed-mutex';
import { isUuid } from '../lib/uuid';
import type { ChunkIndexes } from '../retrieval/chunk-indexes';
import type { Retrieve } from '../retrieval/retriever';
import { canReadCollection } from './access';
import { type CollectionWithCounts, collectionsRepository } from './repository';

export interface CollectionsServiceOptions {
  embedder: Embedder;
  indexes: ChunkIndexes;
  retrieve: Retrieve;
  documentLimitBytes: number;
  chunkSize: number;
  chunkOverlap: number;
  defaultRagMode: RagMode;
  /**
   * The per-collection lock, shared with whatever else deletes collections (a user's deletion:
   * see `createOwnerCollectionsRemoval`). A fresh one when not given.
   */
  collectionLock?: KeyedMutex;
}

/** Texts embedded per call: bounds one call's work and lets other requests run in between. */
const EMBED_BATCH = 16;

function toCollectionDto(c: CollectionWithCounts): Collection {
  return {
    collection_id: c.id,
    name: c.name,
    description: c.description,
    owner_id: c.owner_id,
    visibility: c.visibility,
    embedding_model: c.embedding_model,
    dimensions: c.dimensions,
    documents: c.documents,
    chunks: c.chunks,
    created_at: c.created_at.toISOString(),
  };
}

export function createCollectionsService(
  db: Db,
  opts: CollectionsServiceOptions,
): Services['collections'] {
  const { embedder, indexes } = opts;
  // One ingestion or deletion per collection at a time in this process. The indexes no longer
  // depend on it — they follow the change log, whose application is order-insensitive (a dropped
  // collection's additions are ignored), also for writers in other processes — but it keeps this
  // process's own writes to a collection from contending on the same rows and the same doc_path.
  // (Unique paths rest on the unique index.)
  const collectionLock = opts.collectionLock ?? new KeyedMutex();

  /** A collection the actor may not read does not exist for them (404). */
  async function findReadable(actor: AuthUser, name: string) {
    const collection = await collectionsRepository.findByName(db, name);
    if (!collection || !canReadCollection(actor, collection)) {
      throw new NotFoundError(`Collection not found: ${name}`);
    }
    return collection;
  }

  async function findOwned(actor: AuthUser, name: string) {
    const collection = await findReadable(actor, name);
    if (collection.owner_id !== actor.id && actor.role !== 'admin') {
      throw new ForbiddenError(`Only the owner of ${name} or an admin may change it`);
    }
    return collection;
  }

  /** Vectors from another model would make every distance meaningless: refuse to mix them. */
  function assertSameEmbedder(collection: CollectionWithCounts) {
    if (
      collection.embedding_model !== embedder.model ||
      collection.dimensions !== embedder.dimensions
    ) {
      throw new BadRequestError(
        `Collection ${collection.name} was built with ${collection.embedding_model} (${collection.dimensions} dimensions), ` +
          `but this server embeds with ${embedder.model} (${embedder.dimensions} dimensions)`,
      );
    }
  }

  async function embedAll(texts: string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      vectors.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH))));
      await yieldToEventLoop();
    }
    for (const v of vectors) {
      if (v.length !== embedder.dimensions) {
        throw new BadRequestError(
          `The embedder returned ${v.length} dimensions; the collection expects ${embedder.dimensions}`,
        );
      }
    }
    return vectors;
  }

  return {
    async create(actor, input) {
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await collectionsRepository.insert(trx, {
          name: input.name,
          description: input.description ?? '',
          owner_id: actor.id,
          visibility: input.visibility ?? 'private',
          embedding_model: embedder.model,
          dimensions: embedder.dimensions,
        });
        if (!inserted) throw new ConflictError(`A collection named ${input.name} already exists`);
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'collection.created',
          targetId: inserted.id,
        });
        return inserted;
      });
      return toCollectionDto({ ...row, documents: 0, chunks: 0 });
    },

    async list(actor, page) {
      const { rows, next_cursor } = await collectionsRepository.listReadable(db, actor, page);
      return { collections: rows.map(toCollectionDto), next_cursor };
    },

    async get(actor, name) {
      return toCollectionDto(await findReadable(actor, name));
    },

    async delete(actor, name) {
      const collection = await findOwned(actor, name);
      await collectionLock.run(collection.id, async () => {
        // Documents, chunks and persona links go by cascade, in one statement; the change log
        // records the drop in the same transaction, for this process and every other.
        await db.transaction().execute(async (trx) => {
          await collectionsRepository.delete(trx, collection.id);
          await auditRepository.record(trx, {
            actorId: actor.id,
            action: 'collection.deleted',
            targetId: collection.id,
          });
        });
        await indexes.sync();
      });
      return { message: 'Collection deleted successfully' };
    },

    async addDocument(actor, input) {
      const collection = await findOwned(actor, input.name);
      const bytes = Buffer.byteLength(input.content, 'utf8');
      if (bytes > opts.documentLimitBytes) {
        throw new PayloadTooLargeError(
          `The document is ${bytes} bytes; the limit is ${opts.documentLimitBytes} bytes`,
        );
      }
      assertSameEmbedder(collection);
      const contentType =
        input.content_type ??
        (/\.(md|markdown)$/i.test(input.file_name) ? 'text/markdown' : 'text/plain');
      const chunks = chunkDocument(input.content, {
        contentType,
        targetSize: opts.chunkSize,
        overlap: opts.chunkOverlap,
      });
      await yieldToEventLoop();
      const vectors = await embedAll(chunks.map(chunkEmbeddingText));
      const docPath = input.doc_path ?? '';
      const sha256 = createHash('sha256').update(input.content).digest('hex');

      return collectionLock.run(collection.id, async () => {
        // Postgres first, in one transaction (with its change-log rows); the indexes follow the
        // log. A crash in between leaves the indexes behind the log, which the next start replays.
        const store = () =>
          db.transaction().execute(async (trx) => {
            const existing = docPath
              ? await collectionsRepository.findDocumentByPath(trx, collection.id, docPath)
              : undefined;
            if (existing) await collectionsRepository.deleteDocument(trx, existing.id);
            const document = await collectionsRepository.insertDocument(trx, {
              collection_id: collection.id,
              file_name: input.file_name,
              doc_path: docPath,
              content_type: contentType,
              content_sha256: sha256,
              bytes,
              chunk_count: chunks.length,
            });
            const ids = await collectionsRepository.insertChunks(
              trx,
              chunks.map((chunk, i) => ({
                collection_id: collection.id,
                document_id: document.id,
                position: chunk.index,
                heading_path: chunk.headingPath,
                text: chunk.text,
                embedding: vectors[i]!,
              })),
            );
            await auditRepository.record(trx, {
              actorId: actor.id,
              action: 'document.added',
              targetId: document.id,
            });
            return { documentId: document.id, labels: ids };
          });
        const { documentId, labels } = await store()
          // A writer outside this process (another server on the same database) committed the
          // same doc_path after our lookup: the unique index refused ours. Once more finds and
          // replaces theirs, as if the uploads had come one after the other.
          .catch((error: unknown) => (isUniqueViolation(error) ? store() : Promise.reject(error)))
          .catch((error: unknown) => {
            // The collection was deleted while this document was being embedded.
            if (isForeignKeyViolation(error))
              throw new NotFoundError(`Collection not found: ${input.name}`);
            if (isUniqueViolation(error)) {
              throw new ConflictError(
                `Another document with doc_path ${docPath} was being stored at the same time; try again`,
              );
            }
            throw error;
          });
        // Read your own writes: searchable through this process before it answers.
        await indexes.sync(
          labels.map((label, i) => ({
            label,
            vector: vectors[i]!,
            text: chunkEmbeddingText(chunks[i]!),
          })),
        );
        return { document_id: documentId, file_name: input.file_name, chunks: chunks.length };
      });
    },

    async listDocuments(actor, name, page) {
      const collection = await findReadable(actor, name);
      const { rows, next_cursor } = await collectionsRepository.listDocuments(
        db,
        collection.id,
        page,
      );
      return {
        next_cursor,
        documents: rows.map((d) => ({
          document_id: d.id,
          file_name: d.file_name,
          doc_path: d.doc_path,
          chunks: d.chunk_count,
          bytes: d.bytes,
          created_at: d.created_at.toISOString(),
        })),
      };
    },

    async deleteDocument(actor, name, documentId) {
      const collection = await findOwned(actor, name);
      const document = isUuid(documentId)
        ? await collectionsRepository.findDocument(db, collection.id, documentId)
        : undefined;
      if (!document) throw new NotFoundError('Document not found');
      await collectionLock.run(collection.id, async () => {
        await db.transaction().execute(async (trx) => {
          await collectionsRepository.deleteDocument(trx, document.id);
          await auditRepository.record(trx, {
            actorId: actor.id,
            action: 'document.deleted',
            targetId: document.id,
          });
        });
        await indexes.sync();
      });
      return { message: 'Document deleted successfully' };
    },

    async search(actor, input) {
      const collection = await findReadable(actor, input.name);
      assertSameEmbedder(collection);
      const metric = input.metric ?? 'cosine';
      const hits = await opts.retrieve({
        collectionIds: [collection.id],
        query: input.query,
        topK: input.top_k ?? 4,
        metric,
        threshold: input.threshold ?? METRIC_DEFAULTS[metric],
        mode: input.mode ?? opts.defaultRagMode,
        filter: input.filter,
      });
      return { hits };
    },
  };
}

/**
 * Deletion of an owner (a user) with their collections, for the users service. It holds the lock
 * of every collection the owner has while `deleteOwner` runs (its cascade removes them, and the
 * change log records the drops in the same transaction); then it applies the log, so those
 * collections' indexes are gone before it answers.
 */
export function createOwnerCollectionsRemoval(
  db: Db,
  opts: { collectionLock: KeyedMutex; indexes: Pick<ChunkIndexes, 'sync'> },
) {
  return async function removeWithOwner(
    ownerId: string,
    deleteOwner: () => Promise<boolean>,
  ): Promise<boolean> {
    // Sorted, so two removals that share collections take their locks in the same order.
    const ids = (await collectionsRepository.idsOwnedBy(db, ownerId)).sort();
    const underLocks = ids.reduceRight<() => Promise<boolean>>(
      (inner, id) => () => opts.collectionLock.run(id, inner),
      async () => {
        const deleted = await deleteOwner();
        // The cascade's drops are in the change log; apply them before answering.
        if (deleted) await opts.indexes.sync();
        return deleted;
      },
    );
    return underLocks();
  };
}
