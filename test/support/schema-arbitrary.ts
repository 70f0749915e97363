import fc from 'fast-check';

type Schema = Record<string, unknown>;

/** Strings stay short unless a mutation makes them long: the interesting cases are elsewhere. */
const STRING_CAP = 80;
const ARRAY_CAP = 4;
/** The text of a generated string: mostly printable ASCII, sometimes any code point. */
const stringUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constant('grapheme-ascii' as const) },
  { weight: 1, arbitrary: fc.constant('binary' as const) },
);

function boundedString(minLength: number, maxLength: number): fc.Arbitrary<string> {
  const max = Math.max(minLength, Math.min(maxLength, STRING_CAP));
  return stringUnit.chain((unit) =>
    fc
      .string({ unit, minLength, maxLength: max })
      // A code point may take two UTF-16 units: keep to the schema's bounds in units too.
      .filter((s) => s.length >= minLength && s.length <= maxLength),
  );
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : STRING_CAP;
  const within = (s: string) => s.length >= minLength && s.length <= maxLength;
  switch (schema.format) {
    case 'uuid':
      return fc.uuid({ version: 4 });
    case 'date-time':
      return fc
        .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
  }
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern)).filter(within);
  }
  return boundedString(minLength, maxLength);
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -1e6;
  const max = typeof schema.maximum === 'number' ? schema.maximum : 1e6;
  if (integer) {
    return fc.integer({
      min: Math.max(min, Number.MIN_SAFE_INTEGER),
      max: Math.min(max, Number.MAX_SAFE_INTEGER),
    });
  }
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/**
 * Values that exist on the server, by the name of the property that refers to them (e.g.
 * `db_collections: ['tea-guides']`): a property so named takes one of them (or, for an array,
 * some of them) more often than not, so that requests get past "not found" to the service.
 */
export type Hints = Record<string, string[]>;

/**
 * Values valid for a JSON schema of the kind an OpenAPI 3.1 document generated from zod holds:
 * objects (required and optional properties, no others when `additionalProperties` is false),
 * strings (length, pattern, `uuid` and `date-time` formats, enums), numbers with ranges, arrays,
 * `oneOf`/`anyOf` and `$ref`s into the document's components (resolved by `resolve`).
 */
export function schemaArbitrary(
  schema: Schema,
  resolve: (ref: string) => Schema,
  hints: Hints = {},
): fc.Arbitrary<unknown> {
  const recurse = (s: Schema) => schemaArbitrary(s, resolve, hints);
  if (typeof schema.$ref === 'string') return recurse(resolve(schema.$ref));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (Array.isArray(alternatives)) {
    return fc.oneof(...alternatives.map(recurse));
  }
  const type = Array.isArray(schema.type) ? schema.type : [schema.type];
  const arbitraries = type.map((t): fc.Arbitrary<unknown> => {
    switch (t) {
      case 'string':
        return stringArbitrary(schema);
      case 'integer':
        return numberArbitrary(schema, true);
      case 'number':
        return numberArbitrary(schema, false);
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const items = (schema.items ?? {}) as Schema;
        const maxItems = typeof schema.maxItems === 'number' ? schema.maxItems : ARRAY_CAP;
        return fc.array(recurse(items), {
          minLength: typeof schema.minItems === 'number' ? schema.minItems : 0,
          maxLength: Math.min(maxItems, ARRAY_CAP),
        });
      }
      case 'object': {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = (schema.required ?? []) as string[];
        const model = Object.fromEntries(
          Object.entries(properties).map(([key, s]) => {
            const generated = recurse(s);
            const known = hints[key];
            if (!known?.length) return [key, generated];
            const hinted =
              s.type === 'array' ? fc.subarray(known, { minLength: 1 }) : fc.constantFrom(...known);
            return [
              key,
              fc.oneof({ weight: 3, arbitrary: hinted }, { weight: 1, arbitrary: generated }),
            ];
          }),
        );
        return fc.record(model, { requiredKeys: required.filter((k) => k in properties) });
      }
      default:
        // No type: any JSON value.
        return fc.jsonValue({ maxDepth: 2 });
    }
  });
  return arbitraries.length === 1 ? arbitraries[0]! : fc.oneof(...arbitraries);
}

/** A place in a JSON value: the keys and indices leading to it (`[]` is the value itself). */
type JsonPath = (string | number)[];

function pathsOf(value: unknown, prefix: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) pathsOf(v, [...prefix, i], out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Replaces what sits at `path` (the root when it is empty), returning the new root. */
function replaceAt(root: unknown, path: JsonPath, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(root);
  const copy = clone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  // An own property even for `__proto__`, so that JSON.stringify writes it as a key.
  Object.defineProperty(parent, last, {
    value: replace(parent[last]),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** Values of the wrong type for whatever field they land in. */
const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 1.5, '5', '', [], {}, [5], { a: 1 }];

/** Numbers outside any range a field documents, or of the wrong kind for an integer. */
const ODD_NUMBERS: number[] = [
  -1,
  0,
  0.5,
  -0.000001,
  201,
  1e21,
  -1e21,
  2 ** 53 + 2,
  -(2 ** 63),
  1.7976931348623157e308,
  5e-324,
];

/** Text that has broken servers: control and formatting characters, lone surrogates, scripts. */
const ODD_STRINGS: string[] = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF\uD800',
  '\u202Eevil\u202C',
  '\u200B\uFEFF',
  '🫖🍵👩‍👩‍👧‍👦',
  'Ω≈ç√∫˜µ≤≥÷',
  'ﷺ'.repeat(20),
  '\r\n\t\u000b\u000c',
  '%00%2e%2e%2f',
  '../../etc/passwd',
  "'; drop table users; --",
  '{{7*7}}\u0024{7*7}',
  '<script>alert(1)</script>',
  ' ',
  '',
];

const KEY_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'extra', '', 'a\u0000'];

/**
 * One change to a valid value that should make it invalid (or at least unusual): what a careless
 * or hostile client sends. `none` leaves the value as it is.
 */
export type Mutation =
  | { kind: 'none' }
  | { kind: 'wrong-type'; pick: number; value: unknown }
  | { kind: 'drop'; pick: number }
  | { kind: 'extra-field'; pick: number; key: string; value: unknown }
  | { kind: 'huge-string'; pick: number; text: string; times: number }
  | { kind: 'odd-string'; pick: number; text: string }
  | { kind: 'odd-number'; pick: number; value: number }
  | { kind: 'deep'; pick: number; depth: number; shape: 'array' | 'object' };

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('wrong-type' as const),
      pick: fc.nat(),
      value: fc.constantFrom(...WRONG_TYPES),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('extra-field' as const),
      pick: fc.nat(),
      key: fc.oneof(fc.constantFrom(...KEY_NAMES), fc.string({ maxLength: 10 })),
      value: fc.jsonValue({ maxDepth: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('huge-string' as const),
      pick: fc.nat(),
      text: fc.constantFrom('x', 'é', '🍵', '\u0000', '"\\'),
      // Past every field's maxLength, and past the body limit (64 KiB in the tests).
      times: fc.constantFrom(101, 2_001, 32_001, 70_000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('odd-string' as const),
      pick: fc.nat(),
      text: fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ unit: 'binary', maxLength: 20 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('odd-number' as const),
      pick: fc.nat(),
      value: fc.oneof(fc.constantFrom(...ODD_NUMBERS), fc.double({ noNaN: true })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      pick: fc.nat(),
      depth: fc.constantFrom(20, 65, 300, 5_000),
      shape: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
);

/** Stands in for deeply nested JSON, which is written as text (JSON.stringify would recurse). */
const DEEP = '\u0001deep\u0001';

/** Applies a mutation to a (valid) JSON value; `pick` chooses the place, modulo how many fit. */
function mutate(value: unknown, mutation: Mutation): unknown {
  if (mutation.kind === 'none') return value;
  const all = pathsOf(value);
  const choose = (fits: (p: JsonPath) => boolean) => {
    const candidates = all.filter(fits);
    return candidates.length === 0 ? null : candidates[mutation.pick % candidates.length]!;
  };
  const at = (p: JsonPath) => p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  switch (mutation.kind) {
    case 'wrong-type': {
      const path = choose(() => true) ?? [];
      return replaceAt(value, path, () => clone(mutation.value));
    }
    case 'drop': {
      const path = choose((p) => p.length > 0 && isObject(at(p.slice(0, -1))));
      if (!path) return value;
      const copy = clone(value);
      const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as never)[k], copy);
      delete (parent as Record<string, unknown>)[path.at(-1) as string];
      return copy;
    }
    case 'extra-field': {
      const path = choose((p) => isObject(at(p)));
      if (!path) return value;
      return replaceAt(value, path, (old) => {
        const copy = { ...(old as Record<string, unknown>) };
        Object.defineProperty(copy, mutation.key, {
          value: mutation.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return copy;
      });
    }
    case 'huge-string': {
      const path = choose((p) => typeof at(p) === 'string') ?? choose(() => true) ?? [];
      return replaceAt(value, path, () => mutation.text.repeat(mutation.times));
    }
    case 'odd-string': {
      const path = choose((p) => typeof at(p) === 'string') ?? choose(() => true) ?? [];
      return replaceAt(value, path, () => mutation.text);
    }
    case 'odd-number': {
      const path = choose((p) => typeof at(p) === 'number') ?? choose(() => true) ?? [];
      return replaceAt(value, path, () => mutation.value);
    }
    case 'deep': {
      const path = choose(() => true) ?? [];
      return replaceAt(value, path, () => DEEP);
    }
  }
}

/** The JSON text of a value after a mutation (deep nesting spliced in as text). */
export function mutatedJson(value: unknown, mutation: Mutation): string {
  const text = JSON.stringify(mutate(value, mutation)) ?? 'null';
  if (mutation.kind !== 'deep') return text;
  const { depth, shape } = mutation;
  const [open, close] = shape === 'array' ? ['[', ']'] : ['{"a":', '}'];
  return text.replace(JSON.stringify(DEEP), `${open.repeat(depth)}1${close.repeat(depth)}`);
}

/** Bodies that are not a JSON object at all, or not JSON: sent as raw text. */
export const RAW_BODIES: string[] = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '"text"',
  '[]',
  '[{}]',
  '{',
  '{"a":1,}',
  "{'a':1}",
  '{"a":1}{"b":2}',
  '\uFEFF{}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  'NaN',
  '{"n":1e999}',
  '{"s":"\\ud800"}',
  '{"s":"\\u0000"}',
  '\u0000',
  `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`,
];
