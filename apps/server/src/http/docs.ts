import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createOpenApiDocument } from '@personas/contracts';
import type { FastifyInstance } from 'fastify';

/** `/openapi.json` (always, not only in development) and the interactive reference at `/docs`. */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  const document = createOpenApiDocument({ version });
  const json = JSON.stringify(document);
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json').send(json),
  );
  await app.register(swagger, {
    mode: 'static',
    specification: { document: document as never },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { url: '/openapi.json', docExpansion: 'list', deepLinking: true },
  });
}
