import type {
  DocumentAttributes,
  DocumentFailureCode,
  DocumentFilter,
  DocumentStatus,
  Role,
  Scope,
  StoredRagHit,
} from '@personas/contracts';
import type {
  ColumnType,
  Generated,
  Insertable,
  JSONColumnType,
  Selectable,
  Updateable,
} from 'kysely';

/** The tables as Kysely sees them; migrations in `./migrations` are the source of this shape. */
export interface Database {
  app_meta: AppMetaTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  login_failures: LoginFailuresTable;
  registrations: RegistrationsTable;
  collections: CollectionsTable;
  documents: DocumentsTable;
  document_sources: DocumentSourcesTable;
  chunks: ChunksTable;
  personas: PersonasTable;
  persona_collections: PersonaCollectionsTable;
  message_histories: MessageHistoriesTable;
  messages: MessagesTable;
  idempotency_keys: IdempotencyKeysTable;
  usage_records: UsageRecordsTable;
  audit_events: AuditEventsTable;
  chunk_changes: ChunkChangesTable;
  chat_rate_events: ChatRateEventsTable;
}

/** Key/value facts about this database (e.g. when it was first migrated). */
export interface AppMetaTable {
  key: string;
  value: string;
  updated_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string | null;
  role: Generated<Role>;
  password_hash: string;
  /** Tokens a day; null = the server's `USER_DAILY_TOKEN_LIMIT`. */
  daily_token_limit: Generated<number | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserRowUpdate = Updateable<UsersTable>;

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: Uint8Array;
  created_at: Generated<Date>;
  expires_at: Date;
}
export type SessionRow = Selectable<SessionsTable>;
export type NewSessionRow = Insertable<SessionsTable>;

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  secret_hash: Uint8Array;
  created_at: Generated<Date>;
  expires_at: Date | null;
  last_used_at: Date | null;
  /** null: every scope the owner's role has. */
  scopes: JSONColumnType<Scope[] | null, string | null, string | null>;
  /** null: every persona the owner may see. */
  persona_ids: JSONColumnType<string[] | null, string | null, string | null>;
}
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;

export interface LoginFailuresTable {
  id: Generated<number>;
  email: string;
  /** The client address the attempt came from; null on rows from before it was kept. */
  address: string | null;
  failed_at: Generated<Date>;
}

/**
 * One row per account created, with the client address it came from: what the registration
 * throttle counts. Kept in clear: see `registrationsRepository`.
 */
export interface RegistrationsTable {
  id: Generated<number>;
  address: string;
  created_at: Generated<Date>;
}

export interface CollectionsTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  owner_id: string;
  visibility: Generated<'private' | 'shared'>;
  embedding_model: string;
  dimensions: number;
  created_at: Generated<Date>;
}
export type CollectionRow = Selectable<CollectionsTable>;
export type NewCollectionRow = Insertable<CollectionsTable>;

export interface DocumentsTable {
  id: Generated<string>;
  collection_id: string;
  file_name: string;
  /** '' means "no path": only documents with a path are unique per collection (and replaced). */
  doc_path: Generated<string>;
  content_type: string;
  content_sha256: string;
  bytes: number;
  chunk_count: number;
  /** A flat object (values string, number or boolean) that search and personas filter by. */
  attributes: JSONColumnType<DocumentAttributes, string | undefined, string>;
  created_at: Generated<Date>;
  /** The ingestion job's state: chunks exist only for `ready` documents. */
  status: Generated<DocumentStatus>;
  error_code: DocumentFailureCode | null;
  error_detail: string | null;
  /** Page count of a PDF, once extracted. */
  pages: number | null;
  chunks_done: Generated<number>;
  chunks_total: number | null;
  /** The URL a document was fetched from (its bytes are fetched by the job). */
  source_url: string | null;
  /** The media type the client declared, a hint for extraction. */
  declared_type: string | null;
  /** Who uploaded it: the audit event of its `ready` names them. */
  uploaded_by: string | null;
  /** Claims of the job so far; bounded, so a document that kills processes ends `failed`. */
  attempts: Generated<number>;
  /** The process holding the job, until `lease_expires_at` (renewed while it works). */
  lease_owner: string | null;
  lease_expires_at: Date | null;
  updated_at: Generated<Date>;
}

/** An upload's bytes, kept until its document is ready (and for a failed one, for retry). */
/** An upload's bytes until its document is ready, in parts of `SOURCE_PART_BYTES`, in order. */
export interface DocumentSourcesTable {
  document_id: string;
  part: number;
  bytes: Uint8Array;
}
export type DocumentRow = Selectable<DocumentsTable>;
export type NewDocumentRow = Insertable<DocumentsTable>;

export interface ChunksTable {
  /** bigserial, read as a number (see connect.ts): the chunk's label in the HNSW index. */
  id: Generated<number>;
  collection_id: string;
  document_id: string;
  position: number;
  heading_path: Generated<string[]>;
  text: string;
  /** float32 little-endian; see retrieval/vector/vector-codec.ts. */
  embedding: Uint8Array;
  /** 1-based page of a PDF the chunk came from; null for formats without pages. */
  page: number | null;
}
export type ChunkRow = Selectable<ChunksTable>;
export type NewChunkRow = Insertable<ChunksTable>;

export interface PersonasTable {
  id: Generated<string>;
  name: string;
  creator_id: string;
  description: Generated<string>;
  system_prompt: Generated<string>;
  model: string;
  temperature: number;
  visibility: Generated<'public' | 'private'>;
  query_metric: 'cosine' | 'euclidean';
  query_threshold: number;
  top_k: number;
  rag_mode: 'hybrid' | 'vector';
  /** `rag.filter`: which documents the persona retrieves from, by attributes; `{}` for all. */
  rag_filter: JSONColumnType<DocumentFilter, string | undefined, string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type PersonaRow = Selectable<PersonasTable>;
export type NewPersonaRow = Insertable<PersonasTable>;
export type PersonaRowUpdate = Updateable<PersonasTable>;

export interface PersonaCollectionsTable {
  persona_id: string;
  collection_id: string;
  position: number;
}

export interface MessageHistoriesTable {
  id: Generated<string>;
  user_id: string;
  persona_id: string;
  title: string;
  description: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type MessageHistoryRow = Selectable<MessageHistoriesTable>;
export type NewMessageHistoryRow = Insertable<MessageHistoriesTable>;
export type MessageHistoryRowUpdate = Updateable<MessageHistoriesTable>;

export interface MessagesTable {
  id: Generated<string>;
  seq: Generated<number>;
  history_id: string;
  role: 'user' | 'assistant';
  content: string;
  /** jsonb: pg and PGlite both parse it to an object on the way out; it goes in as JSON text. */
  rag_hit: JSONColumnType<StoredRagHit | null, string | null, string | null>;
  created_at: Generated<Date>;
}
export type MessageRow = Selectable<MessagesTable>;

/** One `Idempotency-Key` of one caller: in flight, or done with the 2xx answer it gave. */
export interface IdempotencyKeysTable {
  caller: string;
  key: string;
  /** SHA-256 of the operation and its canonical JSON input. */
  request_hash: string;
  state: 'in_flight' | 'done';
  status: number | null;
  /** jsonb: parsed on the way out; it goes in as JSON text. */
  response: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
}
export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;

export interface UsageRecordsTable {
  id: Generated<string>;
  user_id: string;
  persona_id: string | null;
  model: string;
  outcome: 'completed' | 'failed' | 'aborted';
  prompt_tokens: number;
  completion_tokens: number;
  created_at: Date;
}
export type NewUsageRecordRow = Insertable<UsageRecordsTable>;

export interface AuditEventsTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
}
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEventRow = Insertable<AuditEventsTable>;
/**
 * The log of chunk additions and deletions every server process follows (written by triggers; see
 * the migration `chunk-change-log`). `xid` is xid8: read it as text (`xid::text`).
 */
export interface ChunkChangesTable {
  id: Generated<number>;
  xid: Generated<string>;
  collection_id: string;
  kind: 'add' | 'remove' | 'drop';
  /** int8[]: numbers on PGlite, strings on pg; map with Number. */
  chunk_ids: Generated<(number | string)[]>;
  created_at: Generated<Date>;
}

/** One accepted chat message, counted by the shared sliding-window rate limit. */
export interface ChatRateEventsTable {
  id: Generated<number>;
  rate_key: string;
  at: Date;
}
