/** One REST answer: the status, the headers and the body (parsed when it is JSON). */
export interface RestAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RestCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  token?: string;
  body?: unknown;
  /** Sent as is, for requests a typed client would refuse to build (malformed JSON, …). */
  rawBody?: string;
  /** Further request headers (e.g. `Idempotency-Key`). */
  headers?: Record<string, string>;
  /** Aborts the request (e.g. `AbortSignal.timeout(ms)`, to bound a wait). */
  signal?: AbortSignal;
}

/**
 * REST as a third party calls it: plain `fetch` against `<url>/api`, nothing from the SDK. The
 * body is JSON when one is given.
 */
export async function rest<T = unknown>(url: string, call: RestCall): Promise<RestAnswer<T>> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  let body: string | undefined;
  if (call.rawBody !== undefined || call.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = call.rawBody ?? JSON.stringify(call.body);
  }
  const response = await fetch(`${url}/api${call.path}`, {
    method: call.method,
    headers,
    body,
    signal: call.signal,
  });
  const text = await response.text();
  let parsed: unknown = text;
  if (/^application\/(problem\+)?json/.test(response.headers.get('content-type') ?? '')) {
    parsed = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** A REST caller bound to a server and, optionally, a token. */
export function restAs(url: string, token?: string) {
  return <T = unknown>(
    method: RestCall['method'],
    path: string,
    body?: unknown,
  ): Promise<RestAnswer<T>> => rest<T>(url, { method, path, token, body });
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * `POST …/chat/stream` read to the end with fetch, and its frames split by hand (the server
 * writes `event:` and one `data:` line per frame, LF line ends): independent of the SDK's parser.
 */
export async function restStream(
  url: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; contentType: string; events: SseEvent[]; text: string }> {
  const response = await fetch(`${url}/api${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream')) {
    return { status: response.status, contentType, events: [], text };
  }
  const events = sseFrames(text);
  return { status: response.status, contentType, events, text };
}

/** `event:` and `data:` lines per frame, LF line ends, as the SSE chat route writes them. */
export function sseFrames(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? '';
      const data = lines.find((l) => l.startsWith('data: '))?.slice('data: '.length) ?? 'null';
      return { event, data: JSON.parse(data) as unknown };
    });
}
