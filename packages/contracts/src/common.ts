import { z } from 'zod';

/** `{message}`: what deletes and other side-effect routes answer. */
export const messageSchema = z.object({ message: z.string() }).meta({ id: 'Message' });
export type MessageResponse = z.infer<typeof messageSchema>;

/** Timestamps leave the API as ISO-8601 strings on both transports. */
export const timestampSchema = z.iso.datetime({ offset: true });

/** List routes return at most this many items per call. */
export const MAX_PAGE_SIZE = 200;
/** Query-string numbers arrive as text, so these coerce (JSON-body numbers never do). */
export const pageSchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(MAX_PAGE_SIZE),
  // Bounded so an absurd offset is a 400, not a database overflow.
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** A uuid path parameter; anything else is a 400 naming the field, before any lookup. */
export const idSchema = z.uuid();
