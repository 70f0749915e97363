import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { chatStreamEventSchema } from './chat/schemas';
import { errorBodySchema, type Failure, failures as f } from './openapi-errors';

export const CHAT_STREAM_PATH = '/personas/{persona_id}/chat/stream';

/** One SSE frame as a client reads it: the `event:` line's name and the `data:` line's JSON. */
function frame<Name extends string, Data extends z.ZodType>(
  event: Name,
  data: Data,
  id: string,
  description: string,
) {
  return z
    .object({ event: z.literal(event), data })
    .meta({ id, description: `\`event: ${event}\` — ${description}` });
}

const [metaEvent, tokenEvent, doneEvent] = chatStreamEventSchema.options;

/**
 * The frames of the stream, derived from the events the chat service yields (their `type` is the
 * frame's `event:` line, the rest its `data:`), plus the `error` frame the route writes itself.
 */
export const chatStreamFrameSchema = z
  .discriminatedUnion('event', [
    frame(
      'meta',
      metaEvent.omit({ type: true }),
      'ChatStreamMetaEvent',
      'first, once: the history the exchange goes into and what retrieval found',
    ),
    frame(
      'token',
      tokenEvent.omit({ type: true }),
      'ChatStreamTokenEvent',
      'a piece of the reply, in order',
    ),
    frame(
      'done',
      doneEvent.omit({ type: true }),
      'ChatStreamDoneEvent',
      'last: the whole reply and the token usage; the exchange is stored just before it',
    ),
    frame(
      'error',
      errorBodySchema,
      'ChatStreamErrorEvent',
      'last, instead of `done`: the model failed after the stream began; nothing was stored',
    ),
  ])
  .meta({
    description: [
      'A stream of server-sent events. Each frame is an `event: <name>` line and one `data: <JSON>` line, then an empty line (LF line ends):',
      '',
      '```',
      'event: token',
      'data: {"text":"Green tea is brewed "}',
      '```',
      '',
      'The frames come in this order: one `meta`, any number of `token`, then `done` — or `error` in place of the rest. This schema describes one frame as `{event, data}`, with `data` parsed from its JSON.',
    ].join('\n'),
  });

/** What the stream can fail with before its first event (later failures are `error` frames). */
export const chatStreamFailures: readonly Failure[] = [
  f.contentRequired,
  f.personaNotFound,
  f.historyNotFound,
  f.chatRateLimited,
  f.quotaExceeded,
  f.streamModelFailed,
  f.streamModelTimedOut,
  f.indexesLoading,
];

/**
 * The streaming chat is a plain Fastify route (server-sent events are not a JSON procedure), so
 * it is described here, next to the generated paths. Its parameters, body and error responses
 * are filled in by the document from the chat procedure it shares its input with.
 */
export function chatStreamPaths(): ZodOpenApiPathsObject {
  return {
    [CHAT_STREAM_PATH]: {
      post: {
        operationId: 'chat-stream',
        summary: 'Chat with a persona, streamed as server-sent events',
        description:
          'The same exchange as `POST /personas/{persona_id}/chat`, its reply streamed as it is written. Failures before the first event (validation, 404, 429, the embedding model) answer as ordinary JSON errors with their status; later ones arrive as an `error` event. The exchange is stored just before `done`; a client that disconnects earlier leaves nothing stored. tRPC clients get the same events from the `chat.stream` mutation (a POST, streamed with `httpBatchStreamLink`).',
        tags: ['chat'],
        responses: {
          200: {
            description: 'A stream of server-sent events: `meta`, `token`…, then `done` or `error`',
            content: { 'text/event-stream': { schema: chatStreamFrameSchema } },
          },
        },
      },
    },
  };
}
