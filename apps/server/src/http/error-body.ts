import {
  describeInputIssues,
  ERROR_CODES,
  type ErrorBody,
  type ErrorCode,
  type InputIssue,
  publicErrorOf,
  STATUS_TITLES,
} from '@personas/contracts';
import type { TRPCError } from '@trpc/server';
import type { FastifyInstance } from 'fastify';

/**
 * The one error body every REST route and the host itself answer with: RFC 9457 problem details,
 * keeping the seed's `detail` and the tRPC-style `code` (its schema is the contracts' `Error`).
 */
export type { ErrorBody };

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/**
 * Builds an error body; the only place one is written, so the shape changes in one place. The
 * status follows from the code (tRPC's table), and `reason` and `issues` are left out when absent.
 *
 * @example reply.code(404).send(errorBody('NOT_FOUND', 'Persona not found'))
 */
export function errorBody(
  code: ErrorCode,
  detail: string,
  extra: { issues?: InputIssue[]; reason?: string; scope?: string; status?: number } = {},
): ErrorBody {
  // `status` only for a 4xx the host raises that has no code of its own (408, 431).
  const status = extra.status ?? ERROR_CODES[code];
  return {
    type: 'about:blank',
    title: STATUS_TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(extra.reason ? { reason: extra.reason } : {}),
    ...(extra.scope ? { scope: extra.scope } : {}),
    ...(extra.issues?.length ? { issues: extra.issues } : {}),
  };
}

/** A TRPCError as the client sees it: the error formatter's message and issues, never a stack. */
export function errorBodyFromTrpcError(error: TRPCError): ErrorBody {
  const { message, issues, reason, scope } = publicErrorOf(error);
  const code = isErrorCode(error.code) ? error.code : 'INTERNAL_SERVER_ERROR';
  return errorBody(code, message, { issues, reason, scope });
}

/**
 * trpc-to-openapi sends `{message, code, data, issues}` (the issues as raw zod issues, which echo
 * the rejected input). Rewrite that into our problem body with the issues as the error formatter
 * already summarised them.
 */
export function errorBodyFromAdapter(adapterBody: unknown): ErrorBody {
  const body = (adapterBody ?? {}) as {
    detail?: unknown;
    message?: unknown;
    code?: unknown;
    reason?: unknown;
    data?: { issues?: InputIssue[]; reason?: string; scope?: string };
  };
  // Errors raised by the host itself (malformed JSON, body too large) are already in our shape.
  if (typeof body.detail === 'string' && isErrorCode(body.code)) {
    return errorBody(body.code, body.detail, {
      reason: typeof body.reason === 'string' ? body.reason : undefined,
    });
  }
  const issues = body.data?.issues;
  const code = isErrorCode(body.code) ? body.code : 'INTERNAL_SERVER_ERROR';
  let detail = typeof body.message === 'string' ? body.message : 'Internal server error';
  if (issues?.length) detail = describeInputIssues(issues);
  if (code === 'INTERNAL_SERVER_ERROR') detail = 'Internal server error';
  return errorBody(code, detail, { issues, reason: body.data?.reason, scope: body.data?.scope });
}

/**
 * Error answers outside `/trpc` (which keeps tRPC's own envelope for its clients) go out as
 * `application/problem+json`, whichever part of the host wrote them.
 */
export function installProblemContentType(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    // tRPC keeps its envelope, and `/v1` answers OpenAI's error shape (openai/errors.ts).
    if (reply.statusCode < 400 || /^\/(trpc|v1)\//.test(request.url)) return payload;
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) {
      void reply.header('content-type', PROBLEM_CONTENT_TYPE);
    }
    return payload;
  });
}
