import { createHash } from 'node:crypto';
import {
  type AddDocumentInput,
  type AuthUser,
  BadRequestError,
  type Collection,
  ConflictError,
  DEFAULT_UPLOAD_WAIT_SECONDS,
  ForbiddenError,
  METRIC_DEFAULTS,
  NotFoundError,
  PayloadTooLargeError,
  type RagMode,
  type Services,
  UnsupportedFormatError,
} from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import type { Db } from '../db/connect';
import { isForeignKeyViolation } from '../db/errors';
import type { CollectionRow } from '../db/schema';
import type { Embedder } from '../ingestion/embeddings/embedder';
import { sniffFormat } from '../ingestion/extraction';
import type { IngestionRunner } from '../ingestion/jobs/job-runner';
import { jobsRepository } from '../ingestion/jobs/jobs-repository';
import { checkUrl, UrlFetchError, type UrlFetchOptions } from '../ingestion/url-fetch';
import { KeyedMutex } from '../lib/keyed-mutex';
import { isUuid } from '../lib/uuid';
import type { ChunkIndexes } from '../retrieval/chunk-indexes';
import type { Retrieve } from '../retrieval/retriever';
import { canReadCollection } from './access';
import { toDocumentDto } from './document-dto';
import { type CollectionWithCounts, collectionsRepository } from './repository';

export interface CollectionsServiceOptions {
  embedder: Embedder;
  indexes: ChunkIndexes;
  retrieve: Retrieve;
  documentLimitBytes: number;
  defaultRagMode: RagMode;
  /** The ingestion runner of this process: woken by an upload, awaited by `wait`. */
  jobs: Pick<IngestionRunner, 'wake' | 'settled' | 'cancel'>;
  /** What the at-once check of a URL upload allows (`URL_FETCH_ALLOW_HOSTS`, …). */
  urlFetch: UrlFetchOptions;
  /** A seam for tests; the url-fetch module's check by default. */
  checkUrl?: typeof checkUrl;
  /**
   * The per-collection lock, shared with whatever else deletes collections (a user's deletion:
   * see `createOwnerCollectionsRemoval`). A fresh one when not given.
   */
  collectionLock?: KeyedMutex;
}

/** The first bytes a format is recognised from. */
const SNIFF_BYTES = 4096;

/** A name for a URL's document when the client gave none: its last path segment, or its host. */
function fileNameOfUrl(url: URL): string {
  const last = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
  return (last || url.hostname).slice(0, 255);
}

/** What a document is stored as until extraction says more precisely. */
const CONTENT_TYPES = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  html: 'text/html',
  markdown: 'text/markdown',
  text: 'text/plain',
} as const;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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
  const checkUrlNow = opts.checkUrl ?? checkUrl;
  // One ingestion or deletion per collection at a time in this process. The indexes no longer
  // depend on it — they follow the change log, whose application is order-insensitive (a dropped
  // collection's additions are ignored), also for writers in other processes — but it keeps this
  // process's own writes to a collection from contending on the same rows and the same doc_path.
  // (Unique paths rest on the unique index.)
  const collectionLock = opts.collectionLock ?? new KeyedMutex();

  /** A collection the actor may not read does not exist for them (404). */
  async function findReadable(actor: AuthUser, name: string) {
    return readable(actor, name, await collectionsRepository.findByName(db, name));
  }

  function readable<C extends CollectionRow>(actor: AuthUser, name: string, collection?: C): C {
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
  function assertSameEmbedder(collection: CollectionRow) {
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

  async function findDocumentIn(collectionId: string, documentId: string) {
    const document = isUuid(documentId)
      ? await collectionsRepository.findDocument(db, collectionId, documentId)
      : undefined;
    if (!document) throw new NotFoundError('Document not found');
    return document;
  }

  /** The checks made at once, before anything is stored: size, format, the URL's address. */
  async function accept(input: AddDocumentInput) {
    if ('url' in input) {
      const url = await checkUrlNow(input.url, opts.urlFetch).catch((error: unknown) => {
        if (error instanceof UrlFetchError) {
          throw new BadRequestError(error.detail, { reason: error.code });
        }
        throw error;
      });
      return {
        url: url.href,
        bytes: null,
        fileName: input.file_name ?? fileNameOfUrl(url),
        declaredType: null,
        contentType: 'application/octet-stream',
      };
    }
    const bytes =
      'content' in input
        ? new TextEncoder().encode(input.content)
        : new Uint8Array(Buffer.from(input.content_base64, 'base64'));
    if (bytes.length > opts.documentLimitBytes) {
      throw new PayloadTooLargeError(
        `The document is ${bytes.length} bytes; the limit is ${opts.documentLimitBytes} bytes`,
        { reason: 'too_large' },
      );
    }
    if (bytes.length === 0) throw new BadRequestError('The file is empty');
    const declaredType =
      input.content_type ??
      ('content' in input && /\.(md|markdown)$/i.test(input.file_name) ? 'text/markdown' : null);
    const format = sniffFormat(
      bytes.subarray(0, SNIFF_BYTES),
      input.file_name,
      declaredType ?? undefined,
    );
    if (format === null) {
      throw new UnsupportedFormatError(
        `${input.file_name} is none of the supported formats (PDF, DOCX, HTML, Markdown, text)`,
      );
    }
    return {
      url: null,
      bytes,
      fileName: input.file_name,
      declaredType,
      contentType: CONTENT_TYPES[format],
    };
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
      return toCollectionDto(
        readable(actor, name, await collectionsRepository.findByNameWithCounts(db, name)),
      );
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
      assertSameEmbedder(collection);
      const accepted = await accept(input);
      const document = await db
        .transaction()
        .execute(async (trx) => {
          const inserted = await collectionsRepository.insertDocument(trx, {
            collection_id: collection.id,
            file_name: accepted.fileName,
            doc_path: input.doc_path ?? '',
            content_type: accepted.contentType,
            declared_type: accepted.declaredType,
            content_sha256: accepted.bytes ? sha256(accepted.bytes) : '',
            bytes: accepted.bytes?.length ?? 0,
            chunk_count: 0,
            attributes: JSON.stringify(input.attributes ?? {}),
            source_url: accepted.url,
            uploaded_by: actor.id,
            status: 'queued',
          });
          if (accepted.bytes) await jobsRepository.insertSource(trx, inserted.id, accepted.bytes);
          await jobsRepository.notify(trx);
          return inserted;
        })
        .catch((error: unknown) => {
          // The collection was deleted meanwhile.
          if (isForeignKeyViolation(error))
            throw new NotFoundError(`Collection not found: ${input.name}`);
          throw error;
        });
      opts.jobs.wake();
      await opts.jobs.settled(document.id, (input.wait ?? DEFAULT_UPLOAD_WAIT_SECONDS) * 1000);
      const now = await collectionsRepository.findDocument(db, collection.id, document.id);
      if (!now) {
        // Gone before it was ready: superseded by a later upload of its path (which won the
        // race, and is the one listed), or deleted.
        if (
          document.doc_path !== '' &&
          (await jobsRepository.laterReadyWithPath(db, collection.id, document.doc_path, document))
        ) {
          throw new ConflictError(
            `A later upload of doc_path ${document.doc_path} became ready first and replaced this one`,
            { reason: 'superseded' },
          );
        }
        throw new NotFoundError('The document was deleted before it was ready');
      }
      return toDocumentDto(now);
    },

    async getDocument(actor, name, documentId) {
      const collection = await findReadable(actor, name);
      const document = await findDocumentIn(collection.id, documentId);
      // A client polling for `ready` searches next, perhaps through this process: what it is told
      // is ready is searchable here first (the log applied; one cheap read when up to date).
      if (document.status === 'ready') await indexes.sync();
      return toDocumentDto(document);
    },

    async retryDocument(actor, name, documentId) {
      const collection = await findOwned(actor, name);
      const document = await findDocumentIn(collection.id, documentId);
      if (!(await jobsRepository.requeueFailed(db, document.id))) {
        throw new ConflictError(
          `Only a failed document can be retried; this one is ${document.status}`,
        );
      }
      await jobsRepository.notify(db);
      opts.jobs.wake();
      return toDocumentDto(await findDocumentIn(collection.id, document.id));
    },

    async listDocuments(actor, name, page) {
      const collection = await findReadable(actor, name);
      const { rows, next_cursor } = await collectionsRepository.listDocuments(
        db,
        collection.id,
        page,
      );
      return { next_cursor, documents: rows.map(toDocumentDto) };
    },

    async deleteDocument(actor, name, documentId) {
      const collection = await findOwned(actor, name);
      const document = await findDocumentIn(collection.id, documentId);
      await collectionLock.run(collection.id, async () => {
        await db.transaction().execute(async (trx) => {
          await collectionsRepository.deleteDocument(trx, document.id);
          await auditRepository.record(trx, {
            actorId: actor.id,
            action: 'document.deleted',
            targetId: document.id,
          });
        });
        // A job of it running here stops at once (elsewhere, at its next lease renewal).
        opts.jobs.cancel(document.id);
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
