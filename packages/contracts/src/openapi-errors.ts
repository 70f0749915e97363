import { z } from 'zod';
import { ERROR_CODE_NAMES, ERROR_CODES, type ErrorCode } from './error-codes';

/**
 * One way an operation can fail: the code it answers with, and when, in words a caller can act
 * on. Routers list the failures of each operation; the document states exactly those, so no
 * operation carries another's description.
 */
export interface Failure {
  code: ErrorCode;
  when: string;
  /** The answer carries `Retry-After` (seconds to wait). */
  retryAfter?: true;
}

/** The REST error body, the same for every route and status. */
/** RFC 9457 problem details, keeping the seed's `detail` and the tRPC-style `code`. */
export const errorBodySchema = z.object({
  type: z.string().meta({ description: 'A URI for the problem type; `about:blank` here' }),
  title: z.string().meta({ description: "The status's reason phrase, e.g. `Not Found`" }),
  status: z.number().int().min(400).max(599).meta({ description: 'The HTTP status, repeated' }),
  detail: z.string().meta({ description: 'One sentence a person can act on' }),
  code: z.enum(ERROR_CODE_NAMES).meta({
    description: 'The tRPC-style error code; each status names the codes it can carry',
  }),
  reason: z
    .string()
    .regex(/^[a-z_]+$/)
    .optional()
    .meta({ description: 'A more specific cause where the contract names one, e.g. `too_large`' }),
  scope: z
    .string()
    .optional()
    .meta({ description: 'With `reason: missing_scope`: the scope the API key lacks' }),
  issues: z
    .array(
      z.object({
        path: z
          .string()
          .meta({ description: 'The field, dotted (`rag.top_k`); empty for the body' }),
        message: z.string(),
        code: z.string().meta({ description: 'The validation issue, e.g. `too_small`' }),
      }),
    )
    .optional()
    .meta({ description: 'On a 400 `BAD_REQUEST` from validation: each field at fault, and why' }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const ERROR_SCHEMA_REF = '#/components/schemas/Error';
export const RETRY_AFTER_REF = '#/components/headers/Retry-After';

/** The `Retry-After` header component, referenced by every response that carries it. */
export const retryAfterHeader = {
  description: 'Seconds to wait before trying again',
  required: true,
  schema: { type: 'integer', minimum: 1 },
  example: 30,
} as const;

/**
 * The one place an error response object is built: its description lists the operation's own
 * failures for that status, with their codes. When the error body changes shape (or media type),
 * this and `errorBodySchema` are the edit.
 */
export function errorResponse(failures: readonly Failure[]) {
  const lines = failures.map((f) => `${f.when} (\`${f.code}\`)`);
  const description = lines.length === 1 ? lines[0] : lines.map((l) => `- ${l}`).join('\n');
  return {
    description,
    ...retryAfterOf(failures),
    content: {
      'application/problem+json': {
        schema: { $ref: ERROR_SCHEMA_REF },
        // Without it, viewers sample the schema and show the first code of the enum on every status.
        ...(failures[0] ? { example: exampleBody(failures[0]) } : {}),
      },
    },
  };
}

function exampleBody(failure: Failure): ErrorBody {
  const status = ERROR_CODES[failure.code];
  return {
    type: 'about:blank',
    title: STATUS_TITLES[status] ?? 'Error',
    status,
    detail: failure.when,
    code: failure.code,
  };
}

/** Reason phrases of the statuses the API answers: a problem body's `title`. */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * `Retry-After` on a status whose failures all carry it (required), or only some of them (e.g.
 * a 409 that is an idempotency key in flight or a name taken: sent with the former only).
 */
function retryAfterOf(failures: readonly Failure[]) {
  const carrying = failures.filter((f) => f.retryAfter);
  if (carrying.length === 0) return {};
  if (carrying.length === failures.length) {
    return { headers: { 'Retry-After': { $ref: RETRY_AFTER_REF } } };
  }
  const { required: _, ...optional } = retryAfterHeader;
  const description = `${optional.description}; sent only with the failures above that say to wait`;
  return { headers: { 'Retry-After': { ...optional, description } } };
}

/** An operation's failures as `responses` entries, one per status, in status order. */
export function errorResponses(failures: readonly Failure[]) {
  const byStatus = new Map<number, Failure[]>();
  for (const failure of failures) {
    const status = ERROR_CODES[failure.code];
    const same = byStatus.get(status) ?? [];
    if (!same.some((f) => f.code === failure.code && f.when === failure.when)) same.push(failure);
    byStatus.set(status, same);
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, same]) => [String(status), errorResponse(same)]),
  );
}

const fail = (code: ErrorCode, when: string, extra: { retryAfter?: true } = {}): Failure => ({
  code,
  when,
  ...extra,
});

/**
 * The failures the operations can raise, each described once. The first group the document adds
 * by itself from what an operation is (takes input or none, has a JSON body, needs a token); routers name
 * the rest.
 */
export const failures = {
  invalidInput: fail(
    'BAD_REQUEST',
    'A parameter or field is missing, of the wrong type or out of range; `issues` names each one',
  ),
  unexpectedInput: fail(
    'BAD_REQUEST',
    'This route takes no parameters or fields: one sent anyway (a typo, a page size) is refused, not ignored; `issues` names it',
  ),
  malformedJson: fail('PARSE_ERROR', 'The body is not valid JSON'),
  bodyTooLarge: fail('PAYLOAD_TOO_LARGE', 'The body is larger than the server accepts'),
  notJson: fail(
    'UNSUPPORTED_MEDIA_TYPE',
    'The body is of a media type the server does not read: send `application/json`',
  ),
  unauthenticated: fail('UNAUTHORIZED', 'Missing, unknown, expired or revoked token'),
  databaseUnreachable: fail(
    'SERVICE_UNAVAILABLE',
    'The database is unreachable (`reason: database_unreachable`); nothing was done: retry after `Retry-After` seconds',
    { retryAfter: true },
  ),
  indexesLoading: fail(
    'SERVICE_UNAVAILABLE',
    'This server process is still loading its search indexes after a start (`reason: indexes_loading`); retry after `Retry-After` seconds',
    { retryAfter: true },
  ),
  notBuilder: fail('FORBIDDEN', 'Your role is `user`; this needs `builder` or `admin`'),
  notAdmin: fail('FORBIDDEN', 'Only admins may do this'),

  registrationClosed: fail('FORBIDDEN', 'Registration is closed on this server'),
  emailTaken: fail('CONFLICT', 'An account with this email already exists'),
  wrongCredentials: fail(
    'UNAUTHORIZED',
    'Unknown email or wrong password (the same answer for both)',
  ),
  registrationThrottled: fail(
    'TOO_MANY_REQUESTS',
    'Too many accounts created from your address this hour; wait `Retry-After` seconds',
    { retryAfter: true },
  ),
  loginThrottled: fail(
    'TOO_MANY_REQUESTS',
    'Too many failed attempts for this email, or from your address; wait `Retry-After` seconds',
    { retryAfter: true },
  ),
  badIdempotencyKey: fail('BAD_REQUEST', '`Idempotency-Key` is not 1–255 visible ASCII characters'),
  idempotencyInFlight: fail(
    'CONFLICT',
    'A request under this `Idempotency-Key` is still in progress (`reason: idempotency_in_flight`); retry after `Retry-After` seconds',
    { retryAfter: true },
  ),
  idempotencyKeyReused: fail(
    'UNPROCESSABLE_CONTENT',
    'This `Idempotency-Key` was used with a different body (`reason: idempotency_key_reused`)',
  ),
  logoutWithApiKey: fail('BAD_REQUEST', 'Called with an API key: delete the key instead'),
  apiKeyNotFound: fail('NOT_FOUND', 'No such key among yours'),

  missingScope: fail(
    'FORBIDDEN',
    'Called with an API key whose `scopes` lack the one this route needs (`reason: missing_scope`, the scope in `scope`)',
  ),
  sessionRequired: fail(
    'FORBIDDEN',
    'Called with an API key: keys are managed with a session token (`reason: session_required`)',
  ),
  scopeBeyondRole: fail('FORBIDDEN', "A requested scope is beyond your role's"),
  keyPersonaNotFound: fail(
    'NOT_FOUND',
    'A persona in `persona_ids` does not exist or is not visible to you',
  ),
  quotaExceeded: fail(
    'TOO_MANY_REQUESTS',
    "Today's token quota is used up (`reason: quota_exceeded`); wait `Retry-After` seconds, until midnight UTC",
    { retryAfter: true },
  ),
  othersUsageNotAdmin: fail('FORBIDDEN', "Another user's usage: admins only"),
  badUsageRange: fail('BAD_REQUEST', '`from` is not before `to`, or the range is over 366 days'),

  userNotFound: fail('NOT_FOUND', 'No such user'),
  selfChange: fail('FORBIDDEN', 'Admins cannot change their own role or delete themselves'),

  personaNotFound: fail('NOT_FOUND', 'Persona not found (or private and not yours)'),
  creatorNotFound: fail('NOT_FOUND', '`creator_id` names no user'),
  ragCollectionNotFound: fail(
    'NOT_FOUND',
    'A collection in `rag.db_collections` does not exist (or you may not read it)',
  ),
  ragCollectionUnreadable: fail(
    'FORBIDDEN',
    "A collection in `rag.db_collections` is one the persona's creator may not read",
  ),
  buildForOther: fail('FORBIDDEN', 'A builder named another user as `creator_id`'),
  notPersonaCreator: fail('FORBIDDEN', "Not the persona's creator (nor an admin)"),
  creatorChangeNotAdmin: fail('FORBIDDEN', 'Only an admin may change `creator_id`'),

  collectionNotFound: fail('NOT_FOUND', 'Collection not found (or private and not yours)'),
  collectionNameTaken: fail('CONFLICT', 'A collection with this name already exists'),
  notCollectionOwner: fail('FORBIDDEN', 'Not the owner of this collection (nor an admin)'),
  otherEmbedder: fail(
    'BAD_REQUEST',
    'The collection was built with another embedding model than the server now uses',
  ),
  documentTooLarge: fail('PAYLOAD_TOO_LARGE', 'The document is over the size limit'),
  documentNotFound: fail('NOT_FOUND', 'No such document in this collection'),
  documentNotFailed: fail(
    'CONFLICT',
    'Only a `failed` document can be retried; this one is queued, processing or ready',
  ),
  uploadSuperseded: fail(
    'CONFLICT',
    'A later upload of the same `doc_path` became ready first and replaced this one (`reason: superseded`); the later one is the document listed',
  ),
  uploadTooLarge: fail(
    'PAYLOAD_TOO_LARGE',
    'The file is over the document size limit (`reason: too_large`), counted on the bytes received; nothing was stored',
  ),
  unsupportedFormat: fail(
    'UNSUPPORTED_MEDIA_TYPE',
    'The file is none of the supported formats (PDF, DOCX, HTML, Markdown, text), judged from its first bytes (`reason: unsupported_format`); nothing was stored',
  ),
  notAnUpload: fail(
    'UNSUPPORTED_MEDIA_TYPE',
    'The body is neither `application/json` nor `multipart/form-data`',
  ),
  blockedAddress: fail(
    'BAD_REQUEST',
    'The URL resolves to an address the server refuses to fetch (loopback, private, link-local, …) (`reason: blocked_address`), or cannot be resolved (`reason: fetch_failed`); nothing was stored',
  ),
  badUpload: fail(
    'BAD_REQUEST',
    'The multipart body has no `file` part, more than one, an empty file, or `attributes` that are not a JSON object',
  ),
  embeddingFailed: fail('BAD_GATEWAY', 'The embedding model failed; nothing was stored'),
  embeddingTimedOut: fail('GATEWAY_TIMEOUT', 'The embedding model timed out; nothing was stored'),

  contentRequired: fail('BAD_REQUEST', 'Message content is empty'),
  historyNotFound: fail(
    'NOT_FOUND',
    'Message history not found (or not yours, or with another persona)',
  ),
  chatRateLimited: fail(
    'TOO_MANY_REQUESTS',
    'Too many chat messages this minute; wait `Retry-After` seconds',
    { retryAfter: true },
  ),
  modelFailed: fail('BAD_GATEWAY', 'The language or embedding model failed; nothing was stored'),
  modelTimedOut: fail(
    'GATEWAY_TIMEOUT',
    'The language or embedding model timed out; nothing was stored',
  ),
  streamModelFailed: fail(
    'BAD_GATEWAY',
    'The embedding model failed before the first event (later failures arrive as an `error` event)',
  ),
  streamModelTimedOut: fail(
    'GATEWAY_TIMEOUT',
    'The embedding model timed out before the first event (later ones arrive as an `error` event)',
  ),
} as const satisfies Record<string, Failure>;
