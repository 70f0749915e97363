import { z } from 'zod';
import type { ChatUsage } from '../chat/schemas';
import { ragHitSchema } from '../collections/schemas';

/**
 * The OpenAI chat-completions wire format as far as a persona honours it. Strict: a parameter it
 * does not support (`tools`, `n` > 1, `logprobs: true`, audio, images…) is a 400 naming it, never
 * silently ignored; the neutral values common clients send by default are accepted.
 */
const textPartSchema = z.strictObject({ type: z.literal('text'), text: z.string().max(200_000) });

export const openAiMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string().max(200_000), z.array(textPartSchema).min(1).max(100)]),
  name: z.string().max(100).optional(),
});
export type OpenAiMessage = z.infer<typeof openAiMessageSchema>;

export const openAiChatRequestSchema = z.strictObject({
  model: z.string().min(1).max(100).meta({ description: 'The persona id (see GET /v1/models)' }),
  messages: z.array(openAiMessageSchema).min(1).max(500),
  stream: z.boolean().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  user: z.string().max(256).optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  store: z.boolean().nullish(),
  // Neutral values only: anything else would change the answer in a way we do not honour.
  n: z.literal(1).nullish(),
  top_p: z.literal(1).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  presence_penalty: z.literal(0).nullish(),
  logprobs: z.literal(false).nullish(),
  stop: z.union([z.string().max(100), z.array(z.string().max(100)).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  response_format: z.strictObject({ type: z.literal('text') }).nullish(),
});
export type OpenAiChatRequest = z.infer<typeof openAiChatRequestSchema>;

export const openAiModelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
  name: z.string(),
});
export const openAiModelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(openAiModelSchema),
});
export type OpenAiModelList = z.infer<typeof openAiModelListSchema>;

const completionUsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const openAiChatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.literal(0),
      message: z.object({ role: z.literal('assistant'), content: z.string() }),
      finish_reason: z.enum(['stop', 'length']),
      logprobs: z.null(),
    }),
  ),
  usage: completionUsageSchema,
  rag_hits: z.array(ragHitSchema),
  message_history_id: z.string().optional(),
});
export type OpenAiChatCompletion = z.infer<typeof openAiChatCompletionSchema>;

export const openAiChatChunkSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.literal(0),
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      finish_reason: z.enum(['stop', 'length']).nullable(),
      logprobs: z.null(),
    }),
  ),
  usage: completionUsageSchema.nullable().optional(),
  rag_hits: z.array(ragHitSchema).optional(),
  message_history_id: z.string().optional(),
});
export type OpenAiChatChunk = z.infer<typeof openAiChatChunkSchema>;

export const openAiErrorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAiError = z.infer<typeof openAiErrorSchema>;

/**
 * A conversation as the chat service takes it from the `/v1` route: the client's messages, with
 * the persona's own prompt always in front; stored only when asked.
 */
export interface ConversationInput {
  personaId: string;
  /** The client's messages, system ones included; the last user message is what retrieval reads. */
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  temperature?: number;
  maxTokens?: number;
  /** Keep the exchange (the last user message and the reply) as a history of the caller. */
  store: boolean;
  /** With `store`: the history to add to (the caller's, with this persona); else a new one. */
  historyId?: string;
}

/** What a conversation's reply carries besides its text. */
export interface ConversationMeta {
  personaId: string;
  /** The history the exchange went into, when stored. */
  historyId: string | null;
  ragHits: z.infer<typeof ragHitSchema>[];
}

export type ConversationEvent =
  | ({ type: 'meta' } & ConversationMeta)
  | { type: 'token'; text: string }
  | { type: 'done'; text: string; usage: ChatUsage };
