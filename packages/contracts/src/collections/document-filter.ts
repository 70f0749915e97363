import { z } from 'zod';

/** At most this many keys in a document's attributes (and in a filter). */
export const MAX_FILTER_KEYS = 16;
/** At most this many values in one key's list of alternatives. */
export const MAX_FILTER_VALUES = 100;

/** An unpaired surrogate: text a jsonb value cannot hold (nor can it hold a NUL). */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text Postgres can hold in jsonb: the filter is compared as jsonb and the attributes are stored
 * as jsonb, which refuses NUL and unpaired surrogates. Refused here (400), not by the database
 * (500); the request-wide NUL check looks at values only, not at keys.
 */
function storableText(schema: z.ZodString) {
  return schema.refine(
    (text) => !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text),
    'text must not contain NUL (\\u0000) characters or unpaired surrogates',
  );
}

/**
 * One attribute value: JSON's string, number or boolean. Equality is JSON equality, type
 * included: `1` matches `1` (and `1.0`) but not `"1"`, and `true` is not `"true"`.
 *
 * Not coerced on REST: trpc-to-openapi sets `coerce` only on number and boolean fields it reaches
 * through objects, never inside a union or a record, so `true` stays a boolean.
 */
export const attributeValueSchema = z.union([
  storableText(z.string().max(1000)),
  z.number(),
  z.boolean(),
]);
export type AttributeValue = z.infer<typeof attributeValueSchema>;

/** What an attribute's key may be: a name a filter can spell without quoting. */
export const DOCUMENT_ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

const attributeKeySchema = z
  .string()
  .regex(
    DOCUMENT_ATTRIBUTE_KEY,
    'An attribute name is a letter or _ then up to 63 of A-Z a-z 0-9 _ . -',
  );

/**
 * A document's `attributes`, stored with it at upload and carried by every hit from it: a flat
 * object that search and personas filter by.
 *
 * @example { "language": "en", "year": 2024, "reviewed": true }
 */
export const documentAttributesSchema = z
  .record(attributeKeySchema, attributeValueSchema)
  .refine((a) => Object.keys(a).length <= MAX_FILTER_KEYS, {
    message: `At most ${MAX_FILTER_KEYS} attributes`,
  })
  .meta({
    id: 'DocumentAttributes',
    description: `Up to ${MAX_FILTER_KEYS} keys (\`${DOCUMENT_ATTRIBUTE_KEY.source}\`), each a string (at most 1,000 characters), a number or a boolean; \`{}\` when none. What \`filter\` matches`,
    maxProperties: MAX_FILTER_KEYS,
    examples: [{ language: 'en', year: 2024, reviewed: true }],
  });
export type DocumentAttributes = z.infer<typeof documentAttributesSchema>;

/**
 * `{"<attribute>": value | [values…]}`: a document matches when every key matches; a list means
 * any of its values; a document without the key does not match. Values compare as JSON (`1` is
 * not `"1"`). `{}` filters nothing.
 *
 * @example filter: { language: 'en', year: [2023, 2024] }
 */
export const documentFilterSchema = z
  .record(
    attributeKeySchema,
    z.union([attributeValueSchema, z.array(attributeValueSchema).min(1).max(MAX_FILTER_VALUES)], {
      error: `A filter value is a string, number or boolean, or a list of 1–${MAX_FILTER_VALUES} of them`,
    }),
  )
  .refine((filter) => Object.keys(filter).length <= MAX_FILTER_KEYS, {
    message: `A filter has at most ${MAX_FILTER_KEYS} keys`,
  })
  .meta({
    description: `Only chunks of documents whose \`attributes\` match: every key must match; a list (1–${MAX_FILTER_VALUES} values) means any of its values; a document without the key does not match. Values are strings, numbers or booleans compared as JSON (\`1\` is not \`"1"\`). At most ${MAX_FILTER_KEYS} keys. Applied before the cut to \`top_k\`, so a filter never leaves fewer hits than there are matching chunks.`,
    maxProperties: MAX_FILTER_KEYS,
    examples: [{ language: 'en', year: [2023, 2024] }],
  });
export type DocumentFilter = z.infer<typeof documentFilterSchema>;
