import { TRPCClientError } from '@trpc/client';
import type { PersonasRouter } from './router';

type ErrorData = PersonasRouter['_def']['_config']['$types']['errorShape']['data'];

/** One field that failed validation (on a 400): where, and why. Never the rejected value. */
export type PersonasIssue = NonNullable<ErrorData['issues']>[number];

/**
 * The server's error codes (tRPC's, which REST bodies carry too), and the SDK's own for what no
 * server said: `HTTP_ERROR` (an answer without a code, a proxy's error page), `NETWORK_ERROR`
 * (no answer), `UNEXPECTED_RESPONSE` (an answer of the wrong kind), `STREAM_INTERRUPTED` (a
 * stream that ended before `done`), `CLIENT_ERROR` (anything else before a request left).
 */
export type PersonasErrorCode =
  | ErrorData['code']
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'UNEXPECTED_RESPONSE'
  | 'STREAM_INTERRUPTED'
  | 'CLIENT_ERROR';

/** The HTTP status the server sends for each error code (the tRPC table). */
const STATUS_OF_CODE: Record<ErrorData['code'], number> = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
};

export interface PersonasErrorOptions {
  issues?: PersonasIssue[];
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * Every failure the SDK reports, whichever transport it came over: the HTTP status (0 when the
 * server was never reached), the server's error code (`NOT_FOUND`, …) and its `detail`, a
 * sentence a person can act on. On a 400, `issues` names each field at fault; on a 429,
 * `retryAfterSeconds` says how long to wait.
 *
 * @example
 * try {
 *   await client.personas.get.query({ persona_id })
 * } catch (error) {
 *   if (error instanceof PersonasError && error.status === 404) console.log(error.detail)
 *   else throw error
 * }
 */
export class PersonasError extends Error {
  override name = 'PersonasError';
  // Set only when present, so a logged error shows only what the server said.
  declare readonly issues?: PersonasIssue[];
  declare readonly retryAfterSeconds?: number;

  constructor(
    readonly status: number,
    readonly code: PersonasErrorCode,
    readonly detail: string,
    options: PersonasErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.issues) this.issues = options.issues;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The status the server answers an error code with (500 for a code it does not send). */
  static statusOf(code: string): number {
    return STATUS_OF_CODE[code as ErrorData['code']] ?? 500;
  }

  /** Any failure of a tRPC call (or of the SDK itself) as a PersonasError. */
  static from(error: unknown): PersonasError {
    if (error instanceof PersonasError) return error;
    if (error instanceof TRPCClientError) {
      // A failure raised in the SDK's own fetch (host errors, network) travels as the cause.
      if (error.cause instanceof PersonasError) return error.cause;
      const data = (error.data ?? undefined) as Partial<ErrorData> | undefined;
      if (data?.code) {
        return new PersonasError(
          data.httpStatus ?? PersonasError.statusOf(data.code),
          data.code,
          error.message,
          { issues: data.issues, retryAfterSeconds: data.retryAfterSeconds, cause: error },
        );
      }
    }
    const message = error instanceof Error ? error.message : String(error);
    return new PersonasError(0, 'CLIENT_ERROR', message, { cause: error });
  }

  /**
   * A REST error answer (`{detail, code, issues?}` with its status) as a PersonasError. Reads the
   * body; a body of another shape keeps the status and says what came back.
   */
  static async fromResponse(response: Response): Promise<PersonasError> {
    const text = await response.text().catch(() => '');
    const retryAfter = Number(response.headers.get('retry-after'));
    const retryAfterSeconds =
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
    const body = parseErrorBody(text);
    if (body) {
      return new PersonasError(response.status, body.code, body.detail, {
        issues: body.issues,
        retryAfterSeconds,
      });
    }
    const detail = `The server answered ${response.status} ${response.statusText}`.trim();
    return new PersonasError(response.status, codeOfStatus(response.status), detail, {
      retryAfterSeconds,
    });
  }
}

/** `{detail, code, issues?}`, the server's error body on REST and on its own host errors. */
export function parseErrorBody(
  text: string,
): { detail: string; code: PersonasErrorCode; issues?: PersonasIssue[] } | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { detail, code, issues } = body as Record<string, unknown>;
  if (typeof detail !== 'string' || !isKnownCode(code)) return null;
  return Array.isArray(issues)
    ? { detail, code, issues: issues as PersonasIssue[] }
    : { detail, code };
}

/** The usual code of a status, for answers that carry none (the first code listed wins). */
function codeOfStatus(status: number): PersonasErrorCode {
  for (const [code, s] of Object.entries(STATUS_OF_CODE)) {
    if (s === status && isKnownCode(code)) return code;
  }
  return 'HTTP_ERROR';
}

function isKnownCode(code: unknown): code is ErrorData['code'] {
  return typeof code === 'string' && Object.hasOwn(STATUS_OF_CODE, code);
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/**
 * What a failed call rejects with: the caller's own abort stays the AbortError it is (not a
 * failure of the server, and `signal.reason` when one was given); everything else becomes a
 * PersonasError.
 */
export function toSdkError(error: unknown): unknown {
  if (isAbort(error)) return error;
  if (error instanceof TRPCClientError && isAbort(error.cause)) return error.cause;
  return PersonasError.from(error);
}
