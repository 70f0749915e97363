import { type OpenAiError, publicErrorOf, toTRPCError } from '@personas/contracts';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { retryAfterHeaders } from '../retry-after-headers';

/** OpenAI's error `type` for each status the routes answer; its clients branch on the status. */
function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export function openAiErrorBody(
  status: number,
  message: string,
  opts: { code?: string | null; param?: string | null } = {},
): OpenAiError {
  return {
    error: { message, type: typeOf(status), param: opts.param ?? null, code: opts.code ?? null },
  };
}

/** Codes a client of OpenAI's API knows, by our tRPC code, where one fits. */
const CODES: Partial<Record<string, string>> = {
  UNAUTHORIZED: 'invalid_api_key',
  BAD_GATEWAY: 'upstream_error',
  GATEWAY_TIMEOUT: 'upstream_timeout',
  SERVICE_UNAVAILABLE: 'service_unavailable',
  TOO_MANY_REQUESTS: 'rate_limit_exceeded',
};

/** Anything a `/v1` route threw, as OpenAI's error with its status and `Retry-After`. */
export function openAiErrorOf(thrown: unknown): {
  status: number;
  body: OpenAiError;
  headers: Record<string, string>;
} {
  if (thrown instanceof ZodError) {
    const issue = thrown.issues[0];
    const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const param = unknownKey ?? (issue?.path.map(String).join('.') || null);
    const message = unknownKey
      ? `Unsupported parameter: '${unknownKey}' is not supported with this model`
      : `Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'invalid'}`;
    return {
      status: 400,
      body: openAiErrorBody(400, message, {
        param,
        code: unknownKey ? 'unsupported_parameter' : 'invalid_value',
      }),
      headers: {},
    };
  }
  const error = toTRPCError(thrown);
  const status = getHTTPStatusCodeFromError(error);
  const { message, reason } = publicErrorOf(error);
  return {
    status,
    body: openAiErrorBody(status, message, { code: reason ?? CODES[error.code] ?? null }),
    headers: retryAfterHeaders([error]),
  };
}

/**
 * Under `/v1` every error leaves in OpenAI's shape, the host's own too (unknown route, 405, 413,
 * 415, malformed JSON, 401 before the body): those are written as problem details first, and
 * turned into OpenAI's error here, on their way out.
 */
export function installOpenAiErrorShape(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || !request.url.startsWith('/v1/') || typeof payload !== 'string') {
      return payload;
    }
    let problem: { detail?: unknown; reason?: unknown; code?: unknown };
    try {
      problem = JSON.parse(payload) as typeof problem;
    } catch {
      return payload;
    }
    if (typeof problem.detail !== 'string') return payload;
    void reply.header('content-type', 'application/json; charset=utf-8');
    const code = typeof problem.reason === 'string' ? problem.reason : CODES[String(problem.code)];
    return JSON.stringify(openAiErrorBody(reply.statusCode, problem.detail, { code }));
  });
}
