import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document rooted at /api with a bearerAuth scheme', async () => {
    const res = await t.app.http.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers).toEqual([{ url: '/api' }]);
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    // Throws with the first violation when the document is not valid OpenAPI.
    await SwaggerParser.validate(structuredClone(doc));
  });

  it('documents every error response as problem details', async () => {
    const doc = (await t.app.http.inject({ method: 'GET', url: '/openapi.json' })).json();
    const errorRefs: unknown[] = [];
    for (const item of Object.values<Record<string, { responses: Record<string, unknown> }>>(
      doc.paths,
    )) {
      for (const op of Object.values(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400) errorRefs.push(response);
        }
      }
    }
    expect(errorRefs.length).toBeGreaterThan(0);
    for (const response of errorRefs) {
      expect(response).toMatchObject({
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Error' } },
        },
      });
    }
    expect(doc.components.schemas.Error.required).toEqual([
      'type',
      'title',
      'status',
      'detail',
      'code',
    ]);
  });
});
