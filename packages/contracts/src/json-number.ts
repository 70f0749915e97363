import { z } from 'zod';

/**
 * A number field of a JSON body: a JSON number and nothing else (`null`, `true`, `"5"`, `[5]` are
 * 400s), on REST and tRPC alike.
 *
 * Why a pipe: on every REST request trpc-to-openapi's adapter walks the procedure's input object
 * and sets `coerce` on each `z.number()`/`z.boolean()` it finds — on the shared schema, so after
 * the first REST call tRPC would coerce too (`"0.5"` → 0.5, `null` → 0, `true` → 1). It does not
 * look inside a pipe. The checks sit on the pipe's input side, which is also what the OpenAPI
 * document shows; should a later adapter unwrap pipes, it would reach the output side, after the
 * input side has already refused a non-number.
 *
 * Query-string numbers (`limit`, `offset` of GET lists) are text and keep `z.coerce`.
 *
 * @example temperature: jsonNumber(z.number().min(0).max(2)).optional()
 */
export function jsonNumber(schema: z.ZodNumber): z.ZodPipe<z.ZodNumber, z.ZodNumber> {
  return schema.pipe(z.number());
}
