import { coerceSchema, getInputOutputParsers, unwrapZodType } from 'trpc-to-openapi';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { chatInputSchema } from './chat/schemas';
import { searchInputSchema } from './collections/schemas';
import { decodeCursor, encodeCursor, offsetPageInputSchema } from './common';
import { buildPersonaInputSchema, updatePersonaInputSchema } from './personas/schemas';
import { appRouter } from './root';

type AnyProcedure = Parameters<typeof getInputOutputParsers>[0];
const procedures = Object.entries(
  (appRouter as unknown as { _def: { procedures: Record<string, AnyProcedure> } })._def.procedures,
);

/** What trpc-to-openapi's REST adapter does to a procedure's input on every request. */
function runAdapterCoercion(procedure: AnyProcedure) {
  const schema = unwrapZodType(getInputOutputParsers(procedure).inputParser as never, true);
  if (schema?._zod?.def?.type === 'object') coerceSchema(schema as never);
}
for (const [, procedure] of procedures) runAdapterCoercion(procedure);

interface Def {
  type: string;
  coerce?: boolean;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  [key: string]: unknown;
}

/** Every schema reachable from `root`, with where it sits. */
function walk(root: z.ZodType): { path: string; def: Def }[] {
  const found: { path: string; def: Def }[] = [];
  const stack: [z.ZodType, string][] = [[root, '']];
  const seen = new Set<unknown>();
  while (stack.length > 0 && found.length < 10_000) {
    const [schema, path] = stack.pop()!;
    if (seen.has(schema)) continue;
    seen.add(schema);
    const def = schema._zod.def as unknown as Def;
    found.push({ path, def });
    if (def.shape) {
      for (const [key, child] of Object.entries(def.shape))
        stack.push([child, path ? `${path}.${key}` : key]);
    }
    for (const key of ['innerType', 'in', 'out', 'element', 'left', 'right', 'valueType']) {
      const child = def[key] as z.ZodType | undefined;
      if (child?._zod) stack.push([child, path]);
    }
    for (const option of (def.options as z.ZodType[] | undefined) ?? []) stack.push([option, path]);
  }
  return found;
}

describe('inputs after the REST adapter has coerced them', () => {
  it('finds procedures to check', () => {
    expect(procedures.length).toBeGreaterThan(25);
  });

  it.each(procedures.filter(([, p]) => p._def.type !== 'query'))(
    '%s: no number or boolean of a JSON body coerces',
    (_name, procedure) => {
      const input = getInputOutputParsers(procedure).inputParser as z.ZodType;
      const coercing = walk(input)
        .filter(({ def }) => ['number', 'boolean', 'bigint', 'date'].includes(def.type))
        .filter(({ def }) => def.coerce)
        .map(({ path }) => path);
      expect(coercing).toEqual([]);
    },
  );

  it.each(procedures)('%s: every input object refuses unknown keys', (_name, procedure) => {
    const input = getInputOutputParsers(procedure).inputParser as z.ZodType;
    const loose = walk(input)
      .filter(({ def }) => def.type === 'object' && def.catchall?._zod.def.type !== 'never')
      .map(({ path }) => path || '(the input)');
    expect(loose).toEqual([]);
  });

  it.each([null, true, false, '0.5', [0.5], {}])('refuses temperature %j', (temperature) => {
    const parsed = buildPersonaInputSchema.safeParse({ persona_name: 'x', temperature });
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ path: ['temperature'], code: 'invalid_type' }),
    ]);
  });

  it('refuses numbers as text in nested and other bodies', () => {
    expect(
      buildPersonaInputSchema.safeParse({ persona_name: 'x', rag: { top_k: '3' } }).success,
    ).toBe(false);
    expect(
      buildPersonaInputSchema.safeParse({ persona_name: 'x', rag: { query_threshold: '0.5' } })
        .success,
    ).toBe(false);
    expect(searchInputSchema.safeParse({ name: 'c', query: 'q', threshold: '0.5' }).success).toBe(
      false,
    );
    expect(searchInputSchema.safeParse({ name: 'c', query: 'q', top_k: null }).success).toBe(false);
  });

  it('parses query-string numbers from their text, digits only', () => {
    expect(offsetPageInputSchema.parse({ limit: '5', offset: '10' })).toEqual({
      limit: 5,
      offset: 10,
    });
    expect(offsetPageInputSchema.parse({ limit: 7 })).toEqual({ limit: 7 });
    for (const limit of [
      'abc',
      '0x10',
      '1e1',
      ' 5',
      '-1',
      '5.0',
      '',
      '0',
      '201',
      1.5,
      null,
      true,
    ]) {
      expect(offsetPageInputSchema.safeParse({ limit }).success, String(limit)).toBe(false);
    }
  });

  it('refuses a cursor the server did not issue', () => {
    const good = encodeCursor(['2026-12-01T12:00:00.000000Z', 'x']);
    expect(decodeCursor(good)).toEqual(['2026-12-01T12:00:00.000000Z', 'x']);
    expect(offsetPageInputSchema.safeParse({ cursor: good }).success).toBe(true);
    for (const cursor of ['', 'not a cursor', 'e30', encodeCursor([]), '!!', 'eyJ'.repeat(400)]) {
      expect(offsetPageInputSchema.safeParse({ cursor }).success, cursor).toBe(false);
    }
  });
});

describe('strict request schemas', () => {
  it('names an unknown field, at the top and inside rag', () => {
    const top = buildPersonaInputSchema.safeParse({ persona_name: 'x', temprature: 1.5 });
    expect(top.error?.issues).toEqual([
      expect.objectContaining({
        code: 'unrecognized_keys',
        path: [],
        message: 'Unrecognized key: "temprature"',
      }),
    ]);
    const nested = buildPersonaInputSchema.safeParse({ persona_name: 'x', rag: { topk: 3 } });
    expect(nested.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', path: ['rag'] }),
    ]);
  });

  it('requires chat content, saying so in the seed words', () => {
    const missing = chatInputSchema.safeParse({ persona_id: 'p' });
    expect(missing.error?.issues).toEqual([
      expect.objectContaining({ path: ['content'], message: 'Message content is required' }),
    ]);
    const wrongType = chatInputSchema.safeParse({ persona_id: 'p', content: 5 });
    expect(wrongType.error?.issues[0]?.message).toMatch(/expected string/);
    // Emptiness is the service's, so its detail is the seed's exactly.
    expect(chatInputSchema.safeParse({ persona_id: 'p', content: ' ' }).success).toBe(true);
  });

  it('bounds every threshold to −1…2 and each metric to its own range', () => {
    const rag = (r: object) => buildPersonaInputSchema.safeParse({ persona_name: 'x', rag: r });
    expect(rag({ query_threshold: 2.5 }).success).toBe(false);
    expect(rag({ query_threshold: -1.5 }).success).toBe(false);
    expect(rag({ query_threshold: 1.5 }).success).toBe(true);
    expect(rag({ query_threshold: 1.5, query_metric: 'euclidean' }).success).toBe(true);
    expect(rag({ query_threshold: 1.5, query_metric: 'cosine' }).error?.issues).toEqual([
      expect.objectContaining({
        path: ['rag', 'query_threshold'],
        message: 'For the cosine metric the threshold must be between -1 and 1',
      }),
    ]);
    const search = (s: object) => searchInputSchema.safeParse({ name: 'c', query: 'q', ...s });
    expect(search({ threshold: 2.5, metric: 'euclidean' }).success).toBe(false);
    expect(search({ threshold: -0.5, metric: 'euclidean' }).error?.issues).toEqual([
      expect.objectContaining({
        path: ['threshold'],
        message: 'For the euclidean metric the threshold must be between 0 and 2',
      }),
    ]);
    expect(search({ threshold: 1.5 }).success).toBe(false);
    expect(search({ threshold: 0.5 }).success).toBe(true);
  });

  it("accepts a persona's read-only fields on update and drops them, but not on build", () => {
    const readOnly = {
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: '2024-01-02T00:00:00.000Z',
    };
    const update = updatePersonaInputSchema.parse({ persona_id: 'p', temperature: 1, ...readOnly });
    expect(update).toEqual({ persona_id: 'p', temperature: 1 });
    const build = buildPersonaInputSchema.safeParse({ persona_name: 'x', ...readOnly });
    expect(build.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', path: [] }),
    ]);
  });
});
