import { ServiceUnavailableError } from '@personas/contracts';

function hasSqlState(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** Postgres' foreign_key_violation: the row a write refers to was deleted meanwhile. */
export function isForeignKeyViolation(error: unknown): boolean {
  return hasSqlState(error, '23503');
}

/** Postgres' unique_violation: another writer committed the same key first. */
export function isUniqueViolation(error: unknown): boolean {
  return hasSqlState(error, '23505');
}

/** Socket errors of a server that is down, restarting, or not where the URL says. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * SQLSTATEs of a server that cannot serve right now: admin_shutdown (a fast or immediate stop),
 * crash_shutdown (another backend crashed), cannot_connect_now (starting up, shutting down, in
 * recovery) and too_many_connections. Class 08 (connection exception) is matched by its prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * What `pg` and `pg-pool` throw without a code when a connection is lost or never made, and what
 * Kysely throws for a connection it discarded after a failed rollback.
 */
const CONNECTION_FAILURE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /is not queryable/,
  /^Postgres connection has been discarded/,
];

/**
 * Whether a driver error means "the database is unreachable" (retry later) rather than "this
 * query is wrong" (a bug or a conflict). Looks through `cause` and an `AggregateError`'s errors,
 * which is how Node reports a refused connection to a name with several addresses.
 */
export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, message, errors, cause } = error as {
    code?: unknown;
    message?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string') {
    if (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof message === 'string' && CONNECTION_FAILURE_MESSAGES.some((re) => re.test(message))) {
    return true;
  }
  if (Array.isArray(errors) && errors.some((e) => isConnectionFailure(e, depth + 1))) return true;
  return isConnectionFailure(cause, depth + 1);
}

/** How long a client is asked to wait before trying again while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * The database could not be reached: a 503 with `Retry-After` on every transport (a DomainError,
 * so the one translation in contracts maps it). The driver's error stays as `cause` for the log.
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  override name = 'DatabaseUnavailableError';
  constructor(cause: unknown) {
    super('The database is unreachable; try again shortly', DATABASE_RETRY_AFTER_SECONDS, {
      reason: 'database_unreachable',
    });
    this.cause = cause;
  }
}

/** Rethrows a connection failure as DatabaseUnavailableError, anything else as it is. */
export function classifyDatabaseError(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError || !isConnectionFailure(error)) return error;
  return new DatabaseUnavailableError(error);
}
