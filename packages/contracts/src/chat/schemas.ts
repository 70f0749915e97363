import { z } from 'zod';
import { ragHitSchema, storedRagHitSchema } from '../collections/schemas';
import { DEFAULT_PAGE_SIZE, pageInputSchema, pageOf, timestampSchema } from '../common';

export const CHAT_CONTENT_MAX = 32_000;

export const CHAT_CONTENT_REQUIRED = 'Message content is required';

export const chatInputSchema = z.strictObject({
  persona_id: z.string().min(1).max(100),
  message_history_id: z.string().min(1).max(100).optional(),
  // Required here; emptiness is checked by the service so its detail matches the seed's, word
  // for word. A missing field says the seed's words too (after "Invalid input: content:").
  content: z
    .string({ error: (issue) => (issue.input === undefined ? CHAT_CONTENT_REQUIRED : undefined) })
    .max(CHAT_CONTENT_MAX),
});
export type ChatInput = z.infer<typeof chatInputSchema>;

export const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
});
export type ChatUsage = z.infer<typeof usageSchema>;

export const chatResponseSchema = z
  .object({
    persona_id: z.string(),
    message_history_id: z.string(),
    response: z.string(),
    rag_hit: ragHitSchema.nullable().meta({
      description:
        'The best hit: passing (success true), else the best candidate (success false); null when the persona has no collections or they hold no chunks',
    }),
    rag_hits: z.array(ragHitSchema).meta({ description: 'Every chunk that went into the context' }),
    usage: usageSchema,
  })
  .meta({ id: 'ChatResponse' });
export type ChatResponse = z.infer<typeof chatResponseSchema>;

export const chatMessageSchema = z
  .object({
    id: z.string(),
    role: z.enum(['user', 'assistant']),
    content: z.string(),
    created_at: timestampSchema,
    rag_hit: storedRagHitSchema.nullable().optional(),
  })
  .meta({ id: 'ChatMessage' });
export type ChatMessageDto = z.infer<typeof chatMessageSchema>;

export const messageHistorySchema = z
  .object({
    id: z.string(),
    persona_id: z.string(),
    title: z.string(),
    description: z.string(),
    messages: z.array(chatMessageSchema).meta({
      description: `Its latest messages, oldest of them first (at most ${DEFAULT_PAGE_SIZE})`,
    }),
    messages_next_cursor: z.string().nullable().meta({
      description:
        'Pass as `cursor` to `GET /message_histories/{id}/messages` for the messages before these (again oldest first, with a `next_cursor` further back); null when these are all',
    }),
    created_at: timestampSchema,
  })
  .meta({ id: 'MessageHistory' });
export type MessageHistory = z.infer<typeof messageHistorySchema>;

export const personaHistoriesSchema = z.object({
  persona_id: z.string(),
  messages: z
    .array(messageHistorySchema)
    .meta({ description: 'Your histories with this persona, newest first, a page of them' }),
  next_cursor: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `cursor` for older histories; null on the last page' }),
});

export const personaHistoriesInputSchema = pageInputSchema.extend({
  persona_id: z.string().min(1).max(100),
});

export const historyMessagesInputSchema = pageInputSchema.extend({
  id: z.string().min(1).max(100),
});
export type HistoryMessagesInput = z.output<typeof historyMessagesInputSchema>;

export const historyMessagesSchema = pageOf('messages', chatMessageSchema);
export type HistoryMessages = z.infer<typeof historyMessagesSchema>;
export type PersonaHistories = z.infer<typeof personaHistoriesSchema>;

export const historyIdInputSchema = z.strictObject({ id: z.string().min(1).max(100) });

export const updateHistoryInputSchema = z.strictObject({
  id: z.string().min(1).max(100),
  title: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
});
export type UpdateHistoryInput = z.infer<typeof updateHistoryInputSchema>;

/** Events of a streamed chat, in order: one `meta`, any number of `token`, then `done` or `error`. */
export const chatStreamEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('meta'),
    persona_id: z.string(),
    message_history_id: z.string(),
    rag_hit: ragHitSchema.nullable(),
    rag_hits: z.array(ragHitSchema),
  }),
  z.object({ type: z.literal('token'), text: z.string() }),
  z.object({ type: z.literal('done'), response: z.string(), usage: usageSchema }),
]);
export type ChatStreamEvent = z.infer<typeof chatStreamEventSchema>;
