import { describeInputIssues, type InputIssue, publicErrorOf } from '@personas/contracts';
import type { TRPCError } from '@trpc/server';

/** The one error body every REST route and the host itself answer with. */
export interface ErrorBody {
  detail: string;
  code: string;
  issues?: InputIssue[];
  reason?: string;
}

/**
 * Builds an error body; the only place one is written, so the shape changes in one place. The
 * issues are left out when there are none.
 *
 * @example reply.code(404).send(errorBody('NOT_FOUND', 'Persona not found'))
 */
export function errorBody(
  code: string,
  detail: string,
  issues?: InputIssue[],
  reason?: string,
): ErrorBody {
  return {
    detail,
    code,
    ...(reason ? { reason } : {}),
    ...(issues?.length ? { issues } : {}),
  };
}

/** A TRPCError as the client sees it: the error formatter's message and issues, never a stack. */
export function errorBodyFromTrpcError(error: TRPCError): ErrorBody {
  const { message, issues, reason } = publicErrorOf(error);
  return errorBody(error.code, message, issues, reason);
}

/**
 * trpc-to-openapi sends `{message, code, data, issues}` (the issues as raw zod issues, which echo
 * the rejected input). Rewrite that into our `{detail, code, issues?}` with the issues as the
 * error formatter already summarised them.
 */
export function errorBodyFromAdapter(adapterBody: unknown): ErrorBody {
  const body = (adapterBody ?? {}) as {
    detail?: unknown;
    message?: unknown;
    code?: unknown;
    data?: { issues?: InputIssue[]; reason?: string };
  };
  // Errors raised by the host itself (malformed JSON, body too large) are already in our shape.
  if (typeof body.detail === 'string' && typeof body.code === 'string') {
    return errorBody(body.code, body.detail);
  }
  const issues = body.data?.issues;
  const code = typeof body.code === 'string' ? body.code : 'INTERNAL_SERVER_ERROR';
  let detail = typeof body.message === 'string' ? body.message : 'Internal server error';
  if (issues?.length) detail = describeInputIssues(issues);
  if (code === 'INTERNAL_SERVER_ERROR') detail = 'Internal server error';
  return errorBody(code, detail, issues, body.data?.reason);
}
