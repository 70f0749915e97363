import { z } from 'zod';

/** `{message}`: what deletes and other side-effect routes answer. */
export const messageSchema = z.object({ message: z.string() }).meta({ id: 'Message' });
export type MessageResponse = z.infer<typeof messageSchema>;

/** Timestamps leave the API as ISO-8601 strings on both transports. */
export const timestampSchema = z.iso.datetime({ offset: true });

/** List routes return at most this many items per call. */
export const MAX_PAGE_SIZE = 200;
/** What a list route returns when the caller names no `limit`. */
export const DEFAULT_PAGE_SIZE = 50;

/**
 * A whole number from a query string, strictly: digits only (`?limit=0x10`, `1e1`, ` 5`, `-1` are
 * 400s, which `z.coerce` would accept). tRPC sends JSON, so a JSON integer is taken too.
 *
 * Why a union inside a pipe: trpc-to-openapi sets `coerce` on every `z.number()` it finds at the
 * top of a query input (see DESIGN.md); it does not look inside a pipe, so nothing is coerced here.
 */
export function queryInteger(min: number, max: number) {
  return z
    .union([
      z.int(),
      z
        .string()
        .regex(/^[0-9]{1,10}$/, 'Expected digits only')
        .transform(Number),
    ])
    .pipe(z.int().min(min).max(max))
    .meta({
      // The document shows what a client sends: an integer in range (as text in a query string).
      override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
        delete jsonSchema.anyOf;
        Object.assign(jsonSchema, { type: 'integer', minimum: min, maximum: max });
      },
    });
}

/** Cursors are base64url JSON arrays of strings: the last row's sort key, read only by the server. */
const cursorKeySchema = z.array(z.string().max(200)).min(1).max(4);

/** The cursor for the page after the row whose sort key is `key`. */
export function encodeCursor(key: readonly string[]): string {
  // btoa/atob, not Buffer: contracts also run in browsers (through the SDK).
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  const binary = Array.from(bytes, (b) => String.fromCharCode(b)).join('');
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The sort key a cursor carries, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): string[] | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const parsed = cursorKeySchema.safeParse(
      JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(
          Uint8Array.from(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')), (c) =>
            c.charCodeAt(0),
          ),
        ),
      ),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** An opaque cursor from a previous page's `next_cursor`; a malformed one is a 400 naming it. */
export const cursorSchema = z
  .string()
  .max(1_000)
  .refine((c) => decodeCursor(c) !== undefined, 'Not a cursor this server issued')
  .meta({ description: "The previous page's `next_cursor`, unchanged (opaque)" });

/**
 * The query of every list route: `limit` (1–200, default 50) and `cursor` (the previous page's
 * `next_cursor`). Extend it with a list's own keys (path parameters, `offset`).
 *
 * @example listInput: pageInputSchema.extend({ name: collectionNameSchema })
 */
export const pageInputSchema = z.strictObject({
  limit: queryInteger(1, MAX_PAGE_SIZE)
    .optional()
    .meta({ description: `Items per page, 1–${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})` }),
  cursor: cursorSchema.optional(),
});
export type PageInput = z.output<typeof pageInputSchema>;

/** The two routes that paged by offset before cursors keep taking it. */
export const offsetPageInputSchema = pageInputSchema.extend({
  offset: queryInteger(0, 1_000_000_000)
    .optional()
    .meta({ description: 'Deprecated: rows to skip; use `cursor`' }),
});
export type OffsetPageInput = z.output<typeof offsetPageInputSchema>;

/**
 * A page of a list: `{<key>: [item…], next_cursor}`; `next_cursor` is null on the last page.
 *
 * @example export const userListSchema = pageOf('users', userSchema).meta({ id: 'UserList' });
 */
export function pageOf<K extends string, T extends z.ZodType>(key: K, item: T) {
  return z.object({
    [key]: z.array(item),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last one' }),
  } as { [P in K]: z.ZodArray<T> } & { next_cursor: z.ZodNullable<z.ZodString> });
}

/** A uuid path parameter; anything else is a 400 naming the field, before any lookup. */
export const idSchema = z.uuid();
