import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/**
 * A failure the caller can act on. Services throw these; the tRPC layer translates them to one
 * TRPCError code in one place (`trpc.ts`), and REST sends them as `{detail, code}`.
 *
 * @example throw new NotFoundError('Persona not found')
 */
export class DomainError extends Error {
  override name = 'DomainError';
  /**
   * A lowercase, more specific cause where the contract names one (`too_large`, `missing_scope`,
   * …): REST bodies carry it as `reason`, tRPC errors as `data.reason`.
   */
  readonly reason?: string;
  constructor(
    readonly code: TRPC_ERROR_CODE_KEY,
    message: string,
    opts: { reason?: string } = {},
  ) {
    super(message);
    if (opts.reason !== undefined) this.reason = opts.reason;
  }
}

export class BadRequestError extends DomainError {
  override name = 'BadRequestError';
  constructor(message: string, opts: { reason?: string } = {}) {
    super('BAD_REQUEST', message, opts);
  }
}

export class UnauthorizedError extends DomainError {
  override name = 'UnauthorizedError';
  constructor(message = 'Authentication required: send a valid Bearer token') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** An API key was used outside its `scopes`: a 403 naming the scope it lacks. */
export class MissingScopeError extends DomainError {
  override name = 'MissingScopeError';
  constructor(readonly scope: string) {
    super('FORBIDDEN', `This API key lacks the \`${scope}\` scope this route needs`, {
      reason: 'missing_scope',
    });
  }
}

/** Keys are created, listed and deleted with a session token only. */
export class SessionRequiredError extends DomainError {
  override name = 'SessionRequiredError';
  constructor() {
    super('FORBIDDEN', 'API keys are managed with a session token, not with an API key', {
      reason: 'session_required',
    });
  }
}

export class ConflictError extends DomainError {
  override name = 'ConflictError';
  constructor(message: string, opts: { reason?: string } = {}) {
    super('CONFLICT', message, opts);
  }
}

/** Carries how long the caller must wait; the HTTP layers turn it into `Retry-After`. */
export class RateLimitedError extends DomainError {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    opts: { reason?: string } = {},
  ) {
    super('TOO_MANY_REQUESTS', message, opts);
  }
}

/**
 * A dependency (the database) cannot serve right now: a 503, with how long to wait before trying
 * again, which the HTTP layers turn into `Retry-After`.
 */
export class ServiceUnavailableError extends DomainError {
  override name = 'ServiceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    opts: { reason?: string } = {},
  ) {
    super('SERVICE_UNAVAILABLE', message, opts);
  }
}

/** How long the caller must wait, for the errors that say so (429, 503, 409 in flight); else undefined. */
export function retryAfterOf(error: unknown): number | undefined {
  if (
    error instanceof RateLimitedError ||
    error instanceof ServiceUnavailableError ||
    error instanceof IdempotencyInFlightError
  ) {
    return error.retryAfterSeconds;
  }
  return undefined;
}

export class PayloadTooLargeError extends DomainError {
  override name = 'PayloadTooLargeError';
  constructor(message: string, opts: { reason?: string } = {}) {
    super('PAYLOAD_TOO_LARGE', message, opts);
  }
}

/** An uploaded file of no supported format, judged from its first bytes: a 415, nothing stored. */
export class UnsupportedFormatError extends DomainError {
  override name = 'UnsupportedFormatError';
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', message, { reason: 'unsupported_format' });
  }
}

/** Another request under this `Idempotency-Key` is still running: retry after it has answered. */
export class IdempotencyInFlightError extends DomainError {
  override name = 'IdempotencyInFlightError';
  constructor(readonly retryAfterSeconds = 1) {
    super('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry shortly', {
      reason: 'idempotency_in_flight',
    });
  }
}

/** The `Idempotency-Key` was used before with another request body (or on another route). */
export class IdempotencyKeyReusedError extends DomainError {
  override name = 'IdempotencyKeyReusedError';
  constructor() {
    super(
      'UNPROCESSABLE_CONTENT',
      'This Idempotency-Key was used with a different request; use a new key for a new request',
      { reason: 'idempotency_key_reused' },
    );
  }
}

/** A chat past the caller's daily token limit: 429 until the UTC day turns. */
export class QuotaExceededError extends RateLimitedError {
  override name = 'QuotaExceededError';
  constructor(retryAfterSeconds: number) {
    super(
      "Today's token quota is used up; it resets at midnight UTC (see GET /auth/me)",
      retryAfterSeconds,
      { reason: 'quota_exceeded' },
    );
  }
}
