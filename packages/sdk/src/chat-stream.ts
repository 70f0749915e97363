import { isAbort, PersonasError, parseErrorBody } from './errors';
import type { RouterInputs, RouterOutputs } from './router';
import { readServerSentEvents } from './sse';

/**
 * One event of a streamed chat, in order: one `meta` (the history it is stored in and what
 * retrieval found), any number of `token` (text deltas), then one `done` (the full response,
 * equal to the tokens joined, and the usage).
 */
export type ChatStreamEvent =
  RouterOutputs['chat']['stream'] extends AsyncIterable<infer E> ? E : never;

/** What to send: the message, and the conversation to continue (a new one when absent). */
export type ChatStreamInput = Omit<RouterInputs['chat']['stream'], 'persona_id'>;

export interface ChatStreamOptions {
  /** Aborting closes the request (the server keeps an exchange only once its reply is complete). */
  signal?: AbortSignal;
}

export interface ChatStreamTransport {
  baseUrl: string;
  fetch: typeof globalThis.fetch;
  headers: () => Record<string, string>;
}

const EVENT_TYPES = new Set(['meta', 'token', 'done']);

/**
 * `POST /api/personas/{persona_id}/chat/stream` read as server-sent events. The request goes out
 * on the first `next()`. A refusal before the stream starts (400, 401, 404, 429) and an `error`
 * event later both throw a PersonasError; a stream that ends without `done` throws too.
 */
export async function* streamChat(
  transport: ChatStreamTransport,
  personaId: string,
  input: ChatStreamInput,
  options: ChatStreamOptions = {},
): AsyncGenerator<ChatStreamEvent, void, undefined> {
  const url = `${transport.baseUrl}/api/personas/${encodeURIComponent(personaId)}/chat/stream`;
  const response = await transport.fetch(url, {
    method: 'POST',
    headers: {
      ...transport.headers(),
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify(input),
    signal: options.signal,
  });
  if (!response.ok) throw await PersonasError.fromResponse(response);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream') || !response.body) {
    await response.body?.cancel();
    throw new PersonasError(
      response.status,
      'UNEXPECTED_RESPONSE',
      `Expected an event stream, got ${contentType || 'no content type'}`,
    );
  }

  try {
    for await (const message of readServerSentEvents(response.body)) {
      if (message.event === 'error') {
        const body = parseErrorBody(message.data);
        const code = body?.code ?? 'INTERNAL_SERVER_ERROR';
        throw new PersonasError(
          PersonasError.statusOf(code),
          code,
          body?.detail ?? 'The stream failed',
        );
      }
      if (!EVENT_TYPES.has(message.event)) continue;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch (cause) {
        throw new PersonasError(0, 'UNEXPECTED_RESPONSE', `Unreadable ${message.event} event`, {
          cause,
        });
      }
      const event = { ...(data as object), type: message.event } as ChatStreamEvent;
      yield event;
      if (event.type === 'done') return;
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    if (error instanceof PersonasError || isAbort(error)) throw error;
    // The connection broke off (a reset, the server stopping) while the events were arriving.
    const reason = error instanceof Error ? error.message : String(error);
    throw new PersonasError(0, 'STREAM_INTERRUPTED', `The stream broke off: ${reason}`, {
      cause: error,
    });
  }
  throw new PersonasError(0, 'STREAM_INTERRUPTED', 'The stream ended before its done event');
}
