import type { AnyRouter } from '@trpc/server';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { API_TAGS, type DocumentedMeta } from './openapi';
import { CHAT_STREAM_PATH, chatStreamFailures, chatStreamPaths } from './openapi-chat-stream';
import {
  DOCUMENT_UPLOAD_PATH,
  documentUploadFailures,
  documentUploadPaths,
} from './openapi-document-upload';
import {
  errorBodySchema,
  errorResponses,
  type Failure,
  failures as f,
  retryAfterHeader,
} from './openapi-errors';
import { PARAMETER_EXAMPLES, REQUEST_EXAMPLES } from './openapi-examples';
import { appRouter } from './root';
import { PROCEDURE_SCOPES, type ProcedureAccess } from './scopes';

type Json = Record<string, unknown>;
interface Operation extends Json {
  parameters?: (Json & { name: string })[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses: Record<string, unknown>;
  security?: unknown[];
}

interface ProcedureDef {
  inputs: unknown[];
  meta?: {
    openapi?: { method: string; path: string; protect?: boolean };
    documented?: DocumentedMeta;
  };
}

const SECURED = [{ bearerAuth: [] }];

/** What honouring `Idempotency-Key` adds to an operation's failures. */
const IDEMPOTENCY_FAILURES: readonly Failure[] = [
  f.badIdempotencyKey,
  f.idempotencyInFlight,
  f.idempotencyKeyReused,
];

/** The `Idempotency-Key` request header, as the contract states it. */
const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Send the same key again (same caller, same body, within 24 h) to get the first answer again, with nothing done twice; another body under the key is a 422, and a request still in flight under it a 409 with `Retry-After`. Only 2xx answers are kept. 1–255 visible ASCII characters, e.g. a UUID.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
  example: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
};

/** Declares the header on an operation that honours it (its procedure uses `idempotent`). */
function addIdempotencyKey(operation: Operation): void {
  operation.parameters = [
    ...(operation.parameters ?? []),
    structuredClone(IDEMPOTENCY_KEY_PARAMETER),
  ];
}

/**
 * The OpenAPI 3.1 document of every REST route, generated from the procedures' meta by
 * trpc-to-openapi and completed here: each operation's own error responses (from the failures its
 * router names, plus those of invalid input, a JSON body and a token), `security: []` on public
 * operations, tag descriptions, parameter examples and the streaming chat route.
 */
export function createOpenApiDocument(opts: { version: string }): OpenAPIObject {
  const doc = documentRouter(appRouter, {
    ...opts,
    paths: { ...chatStreamPaths(), ...documentUploadPaths() },
  });
  completeDocumentUpload(operationAt(doc, DOCUMENT_UPLOAD_PATH, 'POST'));
  // The stream takes the chat procedure's input (`chat.stream` and `chat.send` share one
  // schema), so its parameters and body are the generated ones of `POST …/chat`.
  const send = operationAt(doc, '/personas/{persona_id}/chat', 'POST');
  const { responses, ...stream } = operationAt(doc, CHAT_STREAM_PATH, 'POST');
  const completed: Operation = {
    ...stream,
    parameters: structuredClone(send.parameters),
    requestBody: structuredClone(send.requestBody),
    responses,
  };
  completeOperation(completed, {
    failures: [f.invalidInput, ...chatStreamFailures, ...IDEMPOTENCY_FAILURES, f.missingScope],
    protect: true,
  });
  (doc.paths as Record<string, Record<string, Operation>>)[CHAT_STREAM_PATH] = { post: completed };
  for (const [path, method] of TOKEN_OPERATIONS) {
    const ok = operationAt(doc, path, method).responses['200'] as { headers?: Json } | undefined;
    if (ok) ok.headers = { ...ok.headers, 'Cache-Control': noStoreHeader };
  }
  return doc;
}

/**
 * The upload's hand-written operation, completed as a generated one would be: its errors (not
 * the JSON-only 415: it reads multipart too), `Idempotency-Key`, parameter and body examples,
 * and its JSON forms as `oneOf` (exactly one applies: each is strict and requires its own key).
 */
function completeDocumentUpload(operation: Operation): void {
  addIdempotencyKey(operation);
  completeOperation(operation, {
    failures: [
      ...documentUploadFailures,
      ...IDEMPOTENCY_FAILURES,
      ...scopeFailures('collections.addDocument'),
    ],
    protect: true,
    bodyFailures: [],
  });
  addParameterExamples(operation);
  const json = operation.requestBody?.content?.['application/json']?.schema;
  if (json && Array.isArray(json.anyOf)) {
    json.oneOf = json.anyOf;
    delete json.anyOf;
  }
  addBodyExample(operation, REQUEST_EXAMPLES['collections.addDocument']);
}

/** The operations whose success hands out a token, which the server marks `no-store`. */
const TOKEN_OPERATIONS = [
  ['/auth/register', 'POST'],
  ['/auth/login', 'POST'],
  ['/auth/api-keys', 'POST'],
] as const;

const noStoreHeader = {
  description: 'The response carries a token: no cache may keep it',
  schema: { type: 'string', const: 'no-store' },
};

/**
 * The document of any router whose REST procedures set their meta with `rest()`, plus `paths`
 * described by hand (whose operations the caller completes).
 */
export function documentRouter(
  router: AnyRouter,
  opts: { version: string; paths?: ZodOpenApiPathsObject },
): OpenAPIObject {
  const doc = generateOpenApiDocument(router, {
    title: 'Personas API',
    description: [
      'AI personas with retrieval-grounded chat. Every route here is also a tRPC procedure at /trpc.',
      '',
      'Every route follows these conventions, not repeated on each operation:',
      '- A known path with a method it does not serve answers **405** `METHOD_NOT_SUPPORTED` with an `Allow` header listing the methods it serves; an unknown path answers 404.',
      '- Request bodies are `application/json` only; any other `Content-Type` is a **415** `UNSUPPORTED_MEDIA_TYPE`.',
      '- Every response carries `X-Content-Type-Options: nosniff`; responses that carry a token (register, login, API-key creation) carry `Cache-Control: no-store`.',
      '- Browsers may call the API from another origin only when the server lists that origin in `CORS_ORIGINS`: preflights then allow `Authorization`, `Content-Type` and `Idempotency-Key`, and responses expose `Location`, `Retry-After` and `X-Request-Id`.',
      '',
      'The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`: every persona as a model, for the official `openai` clients) has its own document, [/openapi-v1.json](/openapi-v1.json), since its wire format and errors are OpenAI’s.',
    ].join('\n'),
    version: opts.version,
    baseUrl: '/api',
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'A session token (from login or register) or an API key',
      },
    },
    defs: { Error: errorBodySchema },
    paths: opts.paths,
  });
  doc.tags = Object.entries(API_TAGS).map(([name, description]) => ({ name, description }));
  doc.components = {
    ...doc.components,
    headers: { ...doc.components?.headers, 'Retry-After': retryAfterHeader as never },
  };

  const procedures = router._def.procedures as Record<string, { _def: ProcedureDef }>;
  for (const [name, { _def: def }] of Object.entries(procedures)) {
    const openapi = def.meta?.openapi;
    if (!openapi) continue;
    const documented = def.meta?.documented;
    if (!documented) throw new Error(`${name}: set its OpenAPI meta with rest()`);
    const operation = operationAt(doc, openapi.path, openapi.method);
    const protect = openapi.protect ?? true;
    if (documented.idempotent) addIdempotencyKey(operation);
    completeOperation(operation, {
      failures: [
        ...(documented.takesInput ? [f.invalidInput] : []),
        ...documented.failures,
        // A route without input still parses a strict empty object: `?limit=5` is a 400. Listed
        // after the route's own failures, so that a 400 of its own stays the example.
        ...(documented.takesInput ? [] : [f.unexpectedInput]),
        ...(documented.idempotent ? IDEMPOTENCY_FAILURES : []),
        ...scopeFailures(name),
      ],
      protect,
    });
    keepStrictBody(operation, def.inputs[0]);
    addParameterExamples(operation);
    addBodyExample(operation, (REQUEST_EXAMPLES as Record<string, unknown>)[name]);
  }
  return doc;
}

/** What an API key's limits add to an operation's failures, from `PROCEDURE_SCOPES`. */
function scopeFailures(procedure: string): Failure[] {
  const access = (PROCEDURE_SCOPES as Record<string, ProcedureAccess>)[procedure];
  if (access === 'session') return [f.sessionRequired];
  if (access === undefined || access === 'any' || access === 'public') return [];
  return [f.missingScope];
}

function operationAt(doc: OpenAPIObject, path: string, method: string): Operation {
  const operation = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[
    method.toLowerCase()
  ];
  if (!operation) throw new Error(`No operation ${method} ${path} in the generated document`);
  return operation;
}

/** Error responses from the operation's failures, and its security stated either way. */
function completeOperation(
  operation: Operation,
  opts: { failures: readonly Failure[]; protect: boolean; bodyFailures?: readonly Failure[] },
): void {
  const all: Failure[] = [...opts.failures];
  // The host parses every body before a procedure runs: these can answer any body route.
  if (operation.requestBody) {
    all.push(...(opts.bodyFailures ?? [f.malformedJson, f.bodyTooLarge, f.notJson]));
  }
  if (opts.protect) all.push(f.unauthenticated);
  // Every operation reads the database, or at least resolves the token it was sent there.
  all.push(f.databaseUnreachable);
  const success = Object.fromEntries(
    Object.entries(operation.responses).filter(([status]) => Number(status) < 400),
  );
  operation.responses = { ...success, ...errorResponses(all) };
  // `[]` says "no token needed" out loud; an absent `security` would mean "see the root".
  operation.security = opts.protect ? SECURED : [];
}

/**
 * trpc-to-openapi rebuilds an input with refinements as a plain `z.object` of its shape (zod 4
 * refuses `.omit()` on them), which drops a strict object's `additionalProperties: false`:
 * restore it, so the body is documented as strict as the server parses it.
 */
function keepStrictBody(operation: Operation, input: unknown): void {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema || '$ref' in schema || schema.additionalProperties !== undefined) return;
  if (isStrictObject(input)) schema.additionalProperties = false;
}

function isStrictObject(schema: unknown): boolean {
  let def = (schema as { _zod?: { def?: Json } } | undefined)?._zod?.def;
  // An optional input (`z.object({…}).optional()`) is documented as its object.
  while (def && def.type === 'optional') def = (def.innerType as { _zod: { def: Json } })._zod.def;
  const catchall = (def?.catchall as { _zod?: { def?: Json } } | undefined)?._zod?.def;
  return def?.type === 'object' && catchall?.type === 'never';
}

/**
 * The example as the body schema's `examples` (JSON Schema's keyword, which OpenAPI 3.1 uses):
 * Swagger UI pre-fills "Try it out" with the first one.
 */
function addBodyExample(operation: Operation, example: unknown): void {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (schema && example !== undefined) schema.examples = [example];
}

/** Parameters mean the same under one name on every route, so their examples go by name. */
function addParameterExamples(operation: Operation): void {
  for (const parameter of operation.parameters ?? []) {
    const known = PARAMETER_EXAMPLES[parameter.name];
    if (!known) continue;
    parameter.example ??= known.example;
    parameter.description ??= known.description;
    if (known.deprecated) parameter.deprecated = true;
  }
}
