import type { OpenApiMeta } from 'trpc-to-openapi';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Error statuses every route may answer, so nobody forgets to document them. */
const COMMON_ERRORS: Record<number, string> = { 400: 'Invalid input' };
const PROTECTED_ERRORS: Record<number, string> = {
  401: 'Missing, unknown, expired or revoked token',
};

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
    tags: string[];
    description?: string;
    /** Whether the route needs a bearer token (documented as `bearerAuth`). */
    protect?: boolean;
    /** False for a route without input: nothing it is sent can be invalid, so no 400 by default. */
    takesInput?: boolean;
    /** Route-specific error statuses with a word on when they happen. */
    errors?: Record<number, string>;
  },
): OpenApiMeta {
  const protect = opts.protect ?? true;
  return {
    openapi: {
      method,
      path,
      summary: opts.summary,
      description: opts.description,
      tags: opts.tags,
      protect,
      errorResponses: {
        ...(opts.takesInput === false ? {} : COMMON_ERRORS),
        ...(protect ? PROTECTED_ERRORS : {}),
        ...opts.errors,
      },
    },
  };
}
