import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Failure } from './openapi-errors';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The document's tags, in the order a reader meets them, each with what it groups. */
export const API_TAGS = {
  system:
    'What this server is: its version, database, model providers and whether anyone may register.',
  auth: 'Accounts, sessions and API keys. Register or log in to get a token; send it as `Authorization: Bearer <token>`.',
  users: 'User administration (admins only): list users, change roles, delete accounts.',
  personas:
    'Personas: a system prompt, a model, a temperature and the collections they retrieve from. Builders and admins create them; everyone signed in may chat with the public ones.',
  collections:
    'Collections of documents that personas retrieve from: documents are chunked, embedded and searched by vector similarity and BM25 (builders and admins).',
  chat: 'Conversations with a persona, stored as message histories; plain or streamed as server-sent events.',
  usage: 'Language-model tokens used, by day, persona or user: your own, or anyone’s for admins.',
  audit:
    'The append-only trail of security-relevant events: sign-ins, role and quota changes, keys, personas, collections and documents (admins only).',
} as const;
export type ApiTag = keyof typeof API_TAGS;

/** The part of a procedure's meta the document reads besides trpc-to-openapi's own. */
export interface DocumentedMeta {
  /** What the operation itself can fail with; the document adds input, body and token failures. */
  failures: readonly Failure[];
  /**
   * Whether the operation has input of its own. Either way it can answer 400 `BAD_REQUEST`:
   * invalid input, or (without input) a parameter or field it does not take.
   */
  takesInput: boolean;
  /** Whether the operation honours `Idempotency-Key` (its procedure uses `idempotent`). */
  idempotent: boolean;
}

/**
 * OpenAPI meta for a procedure, set in one place so no one half-overwrites it.
 *
 * @example publicProcedure.meta(rest('GET', '/system/info', { tags: ['system'], summary: '…' }))
 */
export function rest(
  method: Method,
  path: `/${string}`,
  opts: {
    summary: string;
    tags: ApiTag[];
    description?: string;
    /** Whether the route needs a bearer token (documented as `bearerAuth`). */
    protect?: boolean;
    /** False for a route without input: its 400 is then for a parameter or field sent anyway. */
    takesInput?: boolean;
    /** The failures this route raises beyond invalid input, a bad body and a missing token. */
    errors?: readonly Failure[];
    /** Documents the `Idempotency-Key` header and its 409/422: set it with `.use(idempotent)`. */
    idempotent?: boolean;
  },
): OpenApiMeta & { documented: DocumentedMeta } {
  return {
    openapi: {
      method,
      path,
      summary: opts.summary,
      description: opts.description,
      tags: opts.tags,
      protect: opts.protect ?? true,
      // trpc-to-openapi caches one response object per error code and shares its first
      // description with every later operation; the document builds every error response itself.
      errorResponses: [],
    },
    documented: {
      failures: opts.errors ?? [],
      takesInput: opts.takesInput ?? true,
      idempotent: opts.idempotent ?? false,
    },
  };
}
