import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/**
 * A failure the caller can act on. Services throw these; the tRPC layer translates them to one
 * TRPCError code in one place (`trpc.ts`), and REST sends them as `{detail, code}`.
 *
 * @example throw new NotFoundError('Persona not found')
 */
export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: TRPC_ERROR_CODE_KEY,
    message: string,
  ) {
    super(message);
  }
}

export class BadRequestError extends DomainError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super('BAD_REQUEST', message);
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

export class ConflictError extends DomainError {
  override name = 'ConflictError';
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** Carries how long the caller must wait; the HTTP layers turn it into `Retry-After`. */
export class RateLimitedError extends DomainError {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('TOO_MANY_REQUESTS', message);
  }
}

export class PayloadTooLargeError extends DomainError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}

/** Another request under this `Idempotency-Key` is still running: retry after it has answered. */
export class IdempotencyInFlightError extends DomainError {
  override name = 'IdempotencyInFlightError';
  readonly reason = 'idempotency_in_flight';
  constructor(readonly retryAfterSeconds = 1) {
    super('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry shortly');
  }
}

/** The `Idempotency-Key` was used before with another request body (or on another route). */
export class IdempotencyKeyReusedError extends DomainError {
  override name = 'IdempotencyKeyReusedError';
  readonly reason = 'idempotency_key_reused';
  constructor() {
    super(
      'UNPROCESSABLE_CONTENT',
      'This Idempotency-Key was used with a different request; use a new key for a new request',
    );
  }
}

/** Seconds a failure asks the caller to wait (`Retry-After`), for both transports. */
export function retryAfterSecondsOf(cause: unknown): number | undefined {
  if (cause instanceof RateLimitedError || cause instanceof IdempotencyInFlightError) {
    return cause.retryAfterSeconds;
  }
  return undefined;
}

/** The machine-readable reason a failure carries beside its code, when it has one. */
export function reasonOf(cause: unknown): string | undefined {
  const reason = (cause as { reason?: unknown } | null)?.reason;
  return cause instanceof DomainError && typeof reason === 'string' ? reason : undefined;
}
