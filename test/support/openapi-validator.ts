import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

export interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; example?: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Json }> };
  responses: Record<
    string,
    {
      description: string;
      headers?: Record<string, Json>;
      content?: Record<string, { schema?: Json }>;
    }
  >;
  security?: unknown[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Json>; headers?: Record<string, Json> };
}

/** What a response looked like, as far as the document can judge it. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The media type without parameters, e.g. `application/json`. */
  mediaType: string;
  /** The parsed JSON body, or for `text/event-stream` the frames as `{event, data}`. */
  body: unknown;
}

/**
 * Checks answers against an OpenAPI 3.1 document's own schemas with Ajv (draft 2020-12, the
 * dialect of 3.1): the status must be documented for the operation, the media type too, every
 * required header present and valid, and the body valid — for a stream, every frame.
 */
export function openApiValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  // OpenAPI's own annotations, meaningless to validation.
  ajv.addKeyword('example');
  ajv.addKeyword('discriminator');
  // `#/components/schemas/X` → one schema document holding them all under `$defs`.
  const rewrite = <T>(value: T): T =>
    JSON.parse(
      JSON.stringify(value).replaceAll('"#/components/schemas/', '"components#/$defs/'),
    ) as T;
  ajv.addSchema({ $id: 'components', $defs: rewrite(doc.components.schemas) });
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: Json) => {
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(rewrite(schema));
      compiled.set(key, validate);
    }
    return validate;
  };
  const header = (spec: Json): Json => {
    const ref = spec.$ref as string | undefined;
    if (!ref) return spec;
    const found = doc.components.headers?.[ref.replace('#/components/headers/', '')];
    if (!found) throw new Error(`Unresolved header ${ref}`);
    return found;
  };

  /** Problems of one answer to `METHOD path` (the documented path, with its `{params}`). */
  return function problems(method: string, path: string, answer: Answer): string[] {
    const operation = doc.paths[path]?.[method.toLowerCase()];
    if (!operation) return [`${method} ${path} is not documented`];
    const response = operation.responses[String(answer.status)];
    if (!response) return [`status ${answer.status} is not documented`];
    const found: string[] = [];
    for (const [name, spec] of Object.entries(response.headers ?? {})) {
      const { required, schema } = header(spec) as { required?: boolean; schema?: Json };
      const value = answer.headers.get(name);
      if (value === null) {
        if (required) found.push(`header ${name} is missing`);
        continue;
      }
      const typed = schema?.type === 'integer' ? Number(value) : value;
      const validate = compile(`${method} ${path} ${answer.status} ${name}`, schema ?? {});
      if (!validate(typed)) found.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
    }
    const media = response.content?.[answer.mediaType];
    if (!media?.schema) return [...found, `media type ${answer.mediaType} is not documented`];
    const validate = compile(
      `${method} ${path} ${answer.status} ${answer.mediaType}`,
      media.schema,
    );
    const items =
      answer.mediaType === 'text/event-stream' ? (answer.body as unknown[]) : [answer.body];
    for (const item of items) {
      if (!validate(item)) {
        found.push(`${ajv.errorsText(validate.errors)} in ${JSON.stringify(item).slice(0, 300)}`);
      }
    }
    return found;
  };
}
