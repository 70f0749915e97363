import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createOpenAiDocument, createOpenApiDocument } from '@personas/contracts';
import type { FastifyInstance } from 'fastify';

/** `/openapi.json` (always, not only in development) and the interactive reference at `/docs`. */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  const document = createOpenApiDocument({ version });
  const json = JSON.stringify(document);
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json').send(json),
  );
  const v1 = JSON.stringify(createOpenAiDocument({ version }));
  app.get('/openapi-v1.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json').send(v1),
  );
  await app.register(swagger, {
    mode: 'static',
    specification: { document: document as never },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: {
      // The API's document first; the OpenAI-compatible one is a choice in the top bar.
      urls: [
        { url: '/openapi.json', name: 'Personas API' },
        { url: '/openapi-v1.json', name: 'OpenAI-compatible API (/v1)' },
      ],
      docExpansion: 'list',
      deepLinking: true,
    },
  });
}
