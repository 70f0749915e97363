import { createDocument, type oas31 } from 'zod-openapi';
import {
  openAiChatChunkSchema,
  openAiChatCompletionSchema,
  openAiChatRequestSchema,
  openAiErrorSchema,
  openAiModelListSchema,
} from './schemas';

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: openAiErrorSchema } },
});
const retryAfter = {
  'Retry-After': {
    description: 'Seconds to wait',
    schema: { type: 'integer' as const, minimum: 1 },
  },
};

/**
 * The OpenAI-compatible API (`/v1`) as its own document: its wire format and error shape are
 * OpenAI's, not this API's problem details, so it stands beside `/openapi.json` (linked from its
 * description) rather than inside it.
 */
export function createOpenAiDocument(opts: { version: string }): oas31.OpenAPIObject {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Personas — OpenAI-compatible API',
      version: opts.version,
      description:
        'Every persona is a model: point any client of OpenAI’s chat-completions API (the official `openai` SDKs, LangChain’s `ChatOpenAI`, …) at `<server>/v1` with an API key or session token. The persona’s prompt always leads and its knowledge grounds the answer; `rag_hits` ride beside the standard fields. Errors are OpenAI’s `{error: {message, type, param, code}}`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/v1' }],
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key or session token' },
      },
    },
    tags: [{ name: 'openai', description: 'Chat completions against personas' }],
    paths: {
      '/models': {
        get: {
          operationId: 'v1-models',
          tags: ['openai'],
          summary: 'The personas the caller may chat with, as models',
          responses: {
            200: {
              description: 'Every persona visible to the caller (unpaged)',
              content: { 'application/json': { schema: openAiModelListSchema } },
            },
            401: error('Missing or invalid key (`invalid_api_key`)'),
            403: error('An API key without the `chat` scope (`missing_scope`)'),
            503: { ...error('The database is unreachable'), headers: retryAfter },
          },
        },
      },
      '/chat/completions': {
        post: {
          operationId: 'v1-chat-completions',
          tags: ['openai'],
          summary: 'A chat completion from a persona (`model` is its id), plain or streamed',
          description:
            'Stateless unless `store: true`, which keeps the last user message and the reply as a message history (`metadata.message_history_id` names an existing one). With `stream: true` the answer is `chat.completion.chunk` events, each with one choice (the first delta carries the role, the last `finish_reason`, `rag_hits` and, when stored, `message_history_id`), then a usage chunk when `stream_options.include_usage`, then `data: [DONE]`.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'The same key with the same body answers the first completion again (a stream’s, as JSON, once it has ended)',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: openAiChatRequestSchema } },
          },
          responses: {
            200: {
              description:
                'The completion, or with `stream: true` its chunks as server-sent events',
              content: {
                'application/json': { schema: openAiChatCompletionSchema },
                'text/event-stream': { schema: openAiChatChunkSchema },
              },
            },
            400: error('An invalid or unsupported parameter, named in `param`'),
            401: error('Missing or invalid key (`invalid_api_key`)'),
            403: error('An API key without the `chat` scope (`missing_scope`)'),
            404: error('Unknown persona, or not visible to the caller (`model_not_found`)'),
            409: {
              ...error('A request under this `Idempotency-Key` is still running'),
              headers: retryAfter,
            },
            413: error('The body is larger than the server accepts'),
            415: error('The body is not `application/json`'),
            422: error(
              'The `Idempotency-Key` was used with another body (`idempotency_key_reused`)',
            ),
            429: {
              ...error('The chat rate limit, or today’s token quota (`quota_exceeded`)'),
              headers: retryAfter,
            },
            502: error('The language model failed; nothing was stored'),
            503: {
              ...error(
                'The database is unreachable, or this process is still loading its search indexes after a start',
              ),
              headers: retryAfter,
            },
            504: error('The language model timed out; nothing was stored'),
          },
        },
      },
    },
  });
}
