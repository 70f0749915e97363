import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/**
 * Every `code` an error body can carry, with the HTTP status it comes with (tRPC's own table,
 * so REST and tRPC agree). The OpenAPI document enumerates `Error.code` from these keys, and the
 * SDK can type its error codes from them: add a code here before the server sends it.
 *
 * @example
 * const status = ERROR_CODES.NOT_FOUND // 404
 * const known = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code)
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  // The host's own: a request not received within REQUEST_TIMEOUT_MS.
  TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // The contract's idempotency rule: the same key with a different body.
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const satisfies Partial<Record<TRPC_ERROR_CODE_KEY, number>>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes as a non-empty tuple, for `z.enum` and the document's `enum`. */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
