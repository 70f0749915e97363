import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOpenApiDocument, documentRouter } from './document';
import { ERROR_CODE_NAMES, ERROR_CODES } from './error-codes';
import { rest } from './openapi';
import { CHAT_STREAM_PATH } from './openapi-chat-stream';
import { DOCUMENT_UPLOAD_PATH } from './openapi-document-upload';
import { failures } from './openapi-errors';
import { PARAMETER_EXAMPLES, REQUEST_EXAMPLES } from './openapi-examples';
import { appRouter } from './root';
import { publicProcedure, router } from './trpc';

type Json = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; required?: boolean; example?: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; headers?: Json; content?: Json }>;
  security?: unknown[];
  tags?: string[];
}

const doc = createOpenApiDocument({ version: '0.0.0' });
const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Operation>).map(([method, op]) => ({
    key: `${method.toUpperCase()} ${path}`,
    op,
  })),
);
const at = (key: string): Operation => {
  const found = operations.find((o) => o.key === key);
  if (!found) throw new Error(`${key} is not documented`);
  return found.op;
};
const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { inputs: z.ZodType[]; meta?: { openapi?: { method: string; path: string } } } }
>;

describe('error responses', () => {
  it("state each operation's own failures, not the first route's that used the status", () => {
    const withText = (text: string) =>
      operations.filter(({ op }) =>
        Object.values(op.responses).some((r) => r.description.includes(text)),
      );
    // The descriptions the issue found copied across operations now stay where they belong.
    const only = (text: string) => withText(text).map((o) => o.key);
    expect(only(failures.wrongCredentials.when)).toEqual(['POST /auth/login']);
    expect(only(failures.registrationClosed.when)).toEqual(['POST /auth/register']);
    expect(only(failures.emailTaken.when)).toEqual(['POST /auth/register']);
    expect(only(failures.loginThrottled.when)).toEqual(['POST /auth/login']);
    expect(at('POST /collections').responses['409']?.description).toContain(
      failures.collectionNameTaken.when,
    );
    expect(at('POST /personas/{persona_id}/chat').responses['429']?.description).toContain(
      failures.chatRateLimited.when,
    );
    expect(at('POST /auth/register').responses['429']?.description).toContain(
      failures.registrationThrottled.when,
    );
  });

  it('answers a missing token with the token failure on every protected operation', () => {
    for (const { key, op } of operations) {
      const secured = (op.security ?? []).length > 0;
      if (!secured) continue;
      expect(op.responses['401']?.description, key).toBe(
        `${failures.unauthenticated.when} (\`UNAUTHORIZED\`)`,
      );
    }
  });

  it('points every error at the one Error schema, whose code is the enumerated constant', () => {
    for (const { key, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content, `${key} ${status}`).toEqual({
          'application/problem+json': {
            schema: { $ref: '#/components/schemas/Error' },
            example: {
              type: 'about:blank',
              title: expect.any(String),
              status: Number(status),
              detail: expect.any(String),
              code: expect.any(String),
            },
          },
        });
        const media = response.content?.['application/problem+json'] as {
          example?: { code: string };
        };
        const code = media?.example?.code as keyof typeof ERROR_CODES;
        expect(ERROR_CODES[code], `${key} ${status}`).toBe(Number(status));
      }
    }
    const error = doc.components?.schemas?.Error as { properties: { code: Json } };
    expect(error.properties.code.enum).toEqual(ERROR_CODE_NAMES);
    expect(doc.components?.schemas).not.toHaveProperty(['error.BAD_REQUEST']);
  });

  it("pairs each code with tRPC's own status for it", () => {
    for (const code of ERROR_CODE_NAMES) {
      expect(getHTTPStatusCodeFromError(new TRPCError({ code })), code).toBe(ERROR_CODES[code]);
    }
  });

  it('declares 413 and 415 on every operation with a body, and Retry-After on every 429', () => {
    const withBody = operations.filter(({ op }) => op.requestBody);
    expect(withBody.length).toBeGreaterThan(10);
    for (const { key, op } of withBody) {
      expect(Object.keys(op.responses), key).toEqual(expect.arrayContaining(['413', '415']));
    }
    const throttled = operations.filter(({ op }) => op.responses['429']).map((o) => o.key);
    expect(throttled.sort()).toEqual(
      [
        'POST /auth/register',
        'POST /auth/login',
        'POST /personas/{persona_id}/chat',
        `POST ${CHAT_STREAM_PATH}`,
      ].sort(),
    );
    for (const key of throttled) {
      expect(at(key).responses['429']?.headers, key).toEqual({
        'Retry-After': { $ref: '#/components/headers/Retry-After' },
      });
    }
    expect(doc.components?.headers?.['Retry-After']).toMatchObject({
      schema: { type: 'integer', minimum: 1 },
    });
  });
});

describe('security and tags', () => {
  it('says `security: []` on the public operations and bearerAuth on every other', () => {
    const open = operations.filter(({ op }) => op.security?.length === 0).map((o) => o.key);
    expect(open.sort()).toEqual(['GET /system/info', 'POST /auth/login', 'POST /auth/register']);
    for (const { key, op } of operations) {
      if (!open.includes(key)) expect(op.security, key).toEqual([{ bearerAuth: [] }]);
    }
  });

  it('describes every tag an operation uses, and no other', () => {
    const used = new Set(operations.flatMap(({ op }) => op.tags ?? []));
    const described = doc.tags ?? [];
    expect(described.map((t) => t.name).sort()).toEqual([...used].sort());
    for (const tag of described) expect(tag.description, tag.name).toMatch(/\w{3,}/);
  });
});

describe('examples', () => {
  it('gives every body and every required parameter an example', () => {
    const missing: string[] = [];
    for (const { key, op } of operations) {
      const schema = op.requestBody?.content['application/json']?.schema;
      if (op.requestBody?.required && !Array.isArray(schema?.examples)) missing.push(key);
      for (const p of op.parameters ?? []) {
        if (p.required && p.example === undefined) missing.push(`${key} ${p.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has examples the server accepts: each parses with its procedure input', () => {
    for (const [name, example] of Object.entries(REQUEST_EXAMPLES)) {
      const procedure = procedures[name];
      expect(procedure, name).toBeDefined();
      // The upload is documented by hand (three bodies, one operation), not from meta.
      const path =
        procedure?._def.meta?.openapi?.path ??
        (name === 'collections.addDocument' ? DOCUMENT_UPLOAD_PATH : '');
      const fromPath = Object.fromEntries(
        [...path.matchAll(/\{(\w+)\}/g)].map(([, param = '']) => [
          param,
          PARAMETER_EXAMPLES[param]?.example,
        ]),
      );
      const parsed = procedure?._def.inputs[0]?.safeParse({ ...fromPath, ...example });
      expect(parsed?.error?.issues ?? [], name).toEqual([]);
    }
  });
});

describe('the streaming chat', () => {
  const stream = at(`POST ${CHAT_STREAM_PATH}`);

  it('takes what the chat procedure takes: one input schema, one documented body', () => {
    expect(procedures['chat.stream']?._def.inputs).toEqual(procedures['chat.send']?._def.inputs);
    const send = at('POST /personas/{persona_id}/chat');
    expect(stream.requestBody).toEqual(send.requestBody);
    expect(stream.parameters).toEqual(send.parameters);
  });

  it('describes each event as a schema, one frame {event, data} each', () => {
    const content = (stream.responses['200']?.content ?? {}) as Record<string, { schema: Json }>;
    const schema = content['text/event-stream']?.schema;
    expect(schema?.oneOf).toEqual(
      ['Meta', 'Token', 'Done', 'Error'].map((e) => ({
        $ref: `#/components/schemas/ChatStream${e}Event`,
      })),
    );
    expect(schema?.description).toContain('event: token');
    const errorEvent = doc.components?.schemas?.ChatStreamErrorEvent as { properties: Json };
    expect(errorEvent.properties).toEqual({
      event: { type: 'string', const: 'error' },
      data: { $ref: '#/components/schemas/Error' },
    });
  });
});

describe('documentRouter', () => {
  it('keeps a strict body strict where the generator rebuilds a refined input', () => {
    const refined = (shape: z.ZodRawShape, strict: boolean) =>
      (strict ? z.strictObject(shape) : z.object(shape)).superRefine(() => {});
    const probe = router({
      strict: publicProcedure
        .meta(rest('POST', '/strict', { summary: 'strict', tags: ['system'], protect: false }))
        .input(refined({ a: z.number() }, true))
        .output(z.object({}))
        .mutation(() => ({})),
      loose: publicProcedure
        .meta(rest('POST', '/loose', { summary: 'loose', tags: ['system'], protect: false }))
        .input(refined({ a: z.number() }, false))
        .output(z.object({}))
        .mutation(() => ({})),
    });
    const probed = documentRouter(probe, { version: '0' });
    const body = (path: string) =>
      (probed.paths?.[path]?.post as Operation | undefined)?.requestBody?.content[
        'application/json'
      ]?.schema;
    expect(body('/strict')?.additionalProperties).toBe(false);
    expect(body('/loose')?.additionalProperties).toBeUndefined();
  });
});

describe('the HTTP conventions', () => {
  it('are stated once in the description: 405 with Allow, JSON bodies, security headers, CORS', () => {
    const description = doc.info.description ?? '';
    for (const text of ['405', '`Allow`', '415', 'nosniff', 'no-store', 'CORS_ORIGINS']) {
      expect(description).toContain(text);
    }
  });

  it('declare Cache-Control: no-store on the responses that carry a token', () => {
    for (const key of ['POST /auth/register', 'POST /auth/login', 'POST /auth/api-keys']) {
      expect(at(key).responses['200']?.headers, key).toHaveProperty('Cache-Control');
    }
    expect(at('GET /auth/me').responses['200']?.headers?.['Cache-Control']).toBeUndefined();
  });
});
