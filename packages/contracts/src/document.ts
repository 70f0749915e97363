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
  // Error schemas generated per code are no longer referenced once replaced above.
  for (const name of Object.keys(doc.components.schemas ?? {})) {
    if (name.startsWith('error.')) delete doc.components.schemas[name];
  }
  return doc;
}
