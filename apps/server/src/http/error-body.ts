import { describeInputIssues, type InputIssue } from '@personas/contracts';

/** The one error body every REST route and the host itself answer with. */
export interface ErrorBody {
  detail: string;
  code: string;
  issues?: InputIssue[];
}

/**
 * trpc-to-openapi sends `{message, code, data, issues}` (the issues as raw zod issues, which echo
 * the rejected input). Rewrite that into our `{detail, code, issues?}` with the issues as the
 * error formatter already summarised them.
 */
export function toErrorBody(adapterBody: unknown): ErrorBody {
  const body = (adapterBody ?? {}) as {
    detail?: unknown;
    message?: unknown;
    code?: unknown;
    data?: { issues?: InputIssue[] };
  };
  // Errors raised by the host itself (malformed JSON, body too large) are already in our shape.
  if (typeof body.detail === 'string' && typeof body.code === 'string') {
    return { detail: body.detail, code: body.code };
  }
  const issues = body.data?.issues;
  const code = typeof body.code === 'string' ? body.code : 'INTERNAL_SERVER_ERROR';
  let detail = typeof body.message === 'string' ? body.message : 'Internal server error';
  if (issues?.length) detail = describeInputIssues(issues);
  if (code === 'INTERNAL_SERVER_ERROR') detail = 'Internal server error';
  return issues?.length ? { detail, code, issues } : { detail, code };
}
