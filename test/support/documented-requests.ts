import type { Answer, OpenApiOperation } from './openapi-validator';
import { sseFrames } from './rest';

/** The documented request body example (Swagger UI's pre-filled body). */
export function bodyExample(spec: OpenApiOperation): unknown {
  const examples = spec.requestBody?.content['application/json']?.schema?.examples;
  return Array.isArray(examples) ? examples[0] : undefined;
}

/**
 * `<base>/api<path>` with each parameter from `values` or its documented example, and the query
 * string.
 */
export function documentedUrl(
  base: string,
  path: string,
  spec: OpenApiOperation,
  values: Record<string, string> = {},
): string {
  const query = new URLSearchParams();
  let filled = path;
  for (const p of spec.parameters ?? []) {
    const value = values[p.name] ?? p.example;
    if (value === undefined) continue;
    if (p.in === 'path') filled = filled.replace(`{${p.name}}`, encodeURIComponent(String(value)));
    if (p.in === 'query') query.set(p.name, String(value));
  }
  const qs = query.toString();
  return `${base}/api${filled}${qs ? `?${qs}` : ''}`;
}

/** Sends one request and reads its answer as the validator judges it (SSE bodies as frames). */
export async function sendRequest(
  method: string,
  target: string,
  opts: { token?: string; contentType?: string; body?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const response = await fetch(target, { method, headers, body: opts.body });
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const text = await response.text();
  let body: unknown = text;
  if (mediaType === 'application/json' || mediaType === 'application/problem+json') {
    body = JSON.parse(text);
  }
  if (mediaType === 'text/event-stream') body = sseFrames(text);
  return { status: response.status, headers: response.headers, mediaType, body };
}
