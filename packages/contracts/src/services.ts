import type { AuditInput, AuditPage } from './audit/schemas';
import type {
  ApiKeyList,
  AuthSession,
  CreateApiKeyInput,
  CreatedApiKey,
  LoginInput,
  Me,
  RegisterInput,
} from './auth/schemas';
import type {
  ChatInput,
  ChatResponse,
  ChatStreamEvent,
  HistoryMessages,
  HistoryMessagesInput,
  MessageHistory,
  PersonaHistories,
  UpdateHistoryInput,
} from './chat/schemas';
import type {
  AddDocumentInput,
  Collection,
  CollectionList,
  CreateCollectionInput,
  CollectionDocument,
  DocumentList,
  SearchInput,
  SearchResult,
} from './collections/schemas';
import type { MessageResponse, OffsetPageInput, PageInput } from './common';
import type { AuthUser } from './context';
import type { IdempotencyClaim, IdempotencyOutcome } from './idempotency';
import type { ConversationEvent, ConversationInput, ConversationMeta } from './openai/schemas';
import type {
  BuildPersonaInput,
  OwnedPersonas,
  Persona,
  PersonaCreated,
  PersonaDeleted,
  PersonaList,
  PersonaUpdated,
  UpdatePersonaInput,
} from './personas/schemas';
import type { SystemInfo } from './system/schemas';
import type { UsageInput, UsageReport } from './usage/schemas';
import type {
  QuotaChanged,
  RoleChanged,
  SetQuotaInput,
  SetRoleInput,
  UserList,
} from './users/schemas';

/**
 * The ports routers call through `ctx.services`. The server implements them; contracts never
 * import a database, a model client or an HTTP server. Who is calling is passed explicitly, so
 * ownership rules live in the services.
 */
export interface Services {
  /** `Idempotency-Key` bookkeeping, kept in the database so every server process sees it. */
  idempotency: {
    /**
     * Takes the key for this request, or answers the kept result of the first one. Throws
     * `IdempotencyInFlightError` (409) while that one runs, `IdempotencyKeyReusedError` (422)
     * when the key came with another request.
     */
    claim(claim: IdempotencyClaim): Promise<IdempotencyOutcome>;
    /** Keeps a 2xx answer for replays. */
    complete(claim: IdempotencyClaim, answer: { status: number; body: unknown }): Promise<void>;
    /** Frees the key after a failure, so the request may be retried under it. */
    release(claim: IdempotencyClaim): Promise<void>;
  };
  system: {
    info(): Promise<SystemInfo>;
  };
  auth: {
    /** `clientAddress` (the context's): accounts created per address are throttled. */
    register(input: RegisterInput, clientAddress: string): Promise<AuthSession>;
    /** `clientAddress` (the context's): failed logins per address are throttled. */
    login(input: LoginInput, clientAddress: string): Promise<AuthSession>;
    logout(actor: AuthUser): Promise<MessageResponse>;
    me(actor: AuthUser): Promise<Me>;
    createApiKey(actor: AuthUser, input: CreateApiKeyInput): Promise<CreatedApiKey>;
    listApiKeys(actor: AuthUser, page: PageInput): Promise<ApiKeyList>;
    deleteApiKey(actor: AuthUser, apiKeyId: string): Promise<MessageResponse>;
  };
  users: {
    list(page: OffsetPageInput): Promise<UserList>;
    setRole(actor: AuthUser, input: SetRoleInput): Promise<RoleChanged>;
    setQuota(actor: AuthUser, input: SetQuotaInput): Promise<QuotaChanged>;
    delete(actor: AuthUser, userId: string): Promise<MessageResponse>;
  };
  usage: {
    /** The caller's own usage, or (admin scope and role) another user's or everyone's. */
    report(actor: AuthUser, input: UsageInput): Promise<UsageReport>;
  };
  audit: {
    list(input: AuditInput): Promise<AuditPage>;
  };
  personas: {
    owned(actor: AuthUser): Promise<OwnedPersonas>;
    build(actor: AuthUser, input: BuildPersonaInput): Promise<PersonaCreated>;
    update(actor: AuthUser, input: UpdatePersonaInput): Promise<PersonaUpdated>;
    delete(actor: AuthUser, personaId: string): Promise<PersonaDeleted>;
    list(actor: AuthUser, page: OffsetPageInput): Promise<PersonaList>;
    get(actor: AuthUser, personaId: string): Promise<Persona>;
  };
  collections: {
    create(actor: AuthUser, input: CreateCollectionInput): Promise<Collection>;
    list(actor: AuthUser, page: PageInput): Promise<CollectionList>;
    get(actor: AuthUser, name: string): Promise<Collection>;
    delete(actor: AuthUser, name: string): Promise<MessageResponse>;
    /** Accepts an upload as a queued document and waits up to `input.wait` s for it to settle. */
    addDocument(actor: AuthUser, input: AddDocumentInput): Promise<CollectionDocument>;
    listDocuments(actor: AuthUser, name: string, page: PageInput): Promise<DocumentList>;
    getDocument(actor: AuthUser, name: string, documentId: string): Promise<CollectionDocument>;
    /** Queues a failed document again; a 409 for any other status. */
    retryDocument(actor: AuthUser, name: string, documentId: string): Promise<CollectionDocument>;
    deleteDocument(actor: AuthUser, name: string, documentId: string): Promise<MessageResponse>;
    search(actor: AuthUser, input: SearchInput): Promise<SearchResult>;
  };
  chat: {
    send(actor: AuthUser, input: ChatInput, signal?: AbortSignal): Promise<ChatResponse>;
    /**
     * A conversation the client carries itself (the `/v1` wire format): the persona's prompt
     * leads, retrieval reads the last user message, and nothing is stored unless asked.
     */
    converse(
      actor: AuthUser,
      input: ConversationInput,
      signal?: AbortSignal,
    ): Promise<ConversationMeta & { text: string; usage: ChatResponse['usage'] }>;
    /** The same, streamed: `meta`, `token`…, `done`. */
    converseStream(
      actor: AuthUser,
      input: ConversationInput,
      signal?: AbortSignal,
    ): AsyncIterable<ConversationEvent>;
    /** Yields `meta`, `token`…, `done`; throws on failure. The exchange is stored before `done`. */
    stream(actor: AuthUser, input: ChatInput, signal?: AbortSignal): AsyncIterable<ChatStreamEvent>;
    personaHistories(
      actor: AuthUser,
      personaId: string,
      page: PageInput,
    ): Promise<PersonaHistories>;
    getHistory(actor: AuthUser, id: string): Promise<MessageHistory>;
    historyMessages(actor: AuthUser, input: HistoryMessagesInput): Promise<HistoryMessages>;
    updateHistory(actor: AuthUser, input: UpdateHistoryInput): Promise<MessageHistory>;
    deleteHistory(actor: AuthUser, id: string): Promise<MessageResponse>;
  };
}
