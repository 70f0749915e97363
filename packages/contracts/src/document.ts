import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { appRouter } from './root';

/** The REST error body: the same for every route and status. */
const errorBodySchema = {
  type: 'object',
  required: ['detail', 'code'],
  properties: {
    detail: { type: 'string', description: 'One sentence a person can act on' },
    code: { type: 'string', description: 'The tRPC error code, e.g. NOT_FOUND' },
    issues: {
      type: 'array',
      description: 'On 400: which field failed validation, and why',
      items: {
        type: 'object',
        required: ['path', 'message', 'code'],
        properties: {
          path: { type: 'string' },
          message: { type: 'string' },
          code: { type: 'string' },
        },
      },
    },
  },
} as const;

/**
 * The OpenAPI 3.1 document of every REST route, generated from the procedures' meta.
 * trpc-to-openapi documents errors as `{message}`; our REST layer sends `{detail, code, issues?}`,
 * so every error response is pointed at one `Error` schema here.
 */
export function createOpenApiDocument(opts: { version: string }): OpenAPIObject {
  const doc = generateOpenApiDocument(appRouter, {
    title: 'Personas API',
    description:
      'AI personas with retrieval-grounded chat. Every route here is also a tRPC procedure at /trpc.',
    version: opts.version,
    baseUrl: '/api',
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'A session token (from login or register) or an API key',
      },
    },
  });
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas } };
  doc.components.schemas = { ...doc.components.schemas, Error: errorBodySchema as never };
  for (const item of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      const responses = (operation as { responses?: Record<string, { content?: unknown }> })
        .responses;
      for (const [status, response] of Object.entries(responses ?? {})) {
        if (Number(status) >= 400) {
          response.content = {
            'application/json': { schema: { $ref: '#/components/schemas/Error' } },
          };
        }
      }
    }
  }
  doc.paths = { ...doc.paths, ...chatStreamPath() };
  // Error schemas generated per code are no longer referenced once replaced above.
  for (const name of Object.keys(doc.components.schemas ?? {})) {
    if (name.startsWith('error.')) delete doc.components.schemas[name];
  }
  return doc;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/**
 * The streaming chat is a plain Fastify route (server-sent events are not a JSON procedure), so
 * it is described here by hand, next to the generated paths.
 */
function chatStreamPath(): NonNullable<OpenAPIObject['paths']> {
  return {
    '/personas/{persona_id}/chat/stream': {
      post: {
        operationId: 'chat-stream',
        summary: 'Chat with a persona, streamed as server-sent events',
        description:
          'Events: `meta` {persona_id, message_history_id, rag_hit, rag_hits}, then `token` {text}…, then `done` {response, usage} — or `error` {detail, code}. The exchange is stored just before `done`; a client that disconnects earlier leaves nothing stored. tRPC clients use the `chat.stream` subscription instead.',
        tags: ['chat'],
        security: [{ bearerAuth: [] }],
        parameters: [
          { name: 'persona_id', in: 'path', required: true, schema: { type: 'string' } },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['content'],
                properties: {
                  message_history_id: { type: 'string', minLength: 1, maxLength: 100 },
                  content: { type: 'string', maxLength: 32000 },
                },
                additionalProperties: false,
              },
            },
          },
        },
        responses: {
          200: {
            description: 'A stream of server-sent events',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          400: errorResponse('Message content is required (or another invalid field)'),
          401: errorResponse('Missing, unknown, expired or revoked token'),
          404: errorResponse('Persona not found, or Message history not found'),
          429: errorResponse('Too many chat messages; see Retry-After'),
          502: errorResponse(
            'The embedding model failed before the stream began (later failures arrive as an error event)',
          ),
          504: errorResponse('The embedding model timed out before the stream began'),
        },
      },
    },
  };
}
