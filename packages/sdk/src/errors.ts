import { TRPCClientError } from '@trpc/client';

/**
 * Every failure the SDK reports: the HTTP status, the error code and a sentence to act on.
 *
 * @example
 * try { await client.auth.me.query() } catch (e) { if (e instanceof PersonasError && e.status === 401) … }
 */
export class PersonasError extends Error {
  override name = 'PersonasError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }

  static from(error: unknown): PersonasError {
    if (error instanceof PersonasError) return error;
    if (error instanceof TRPCClientError) {
      const data = (error.data ?? {}) as { httpStatus?: number; code?: string };
      return new PersonasError(data.httpStatus ?? 0, data.code ?? 'CLIENT_ERROR', error.message, {
        cause: error,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new PersonasError(0, 'CLIENT_ERROR', message, { cause: error });
  }
}
