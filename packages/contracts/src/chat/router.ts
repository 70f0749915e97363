import type { TRPCRouterRecord } from '@trpc/server';
import { messageSchema } from '../common';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { authedProcedure, idempotent, withTRPCErrors } from '../trpc';
import {
  chatInputSchema,
  chatResponseSchema,
  historyIdInputSchema,
  historyMessagesInputSchema,
  historyMessagesSchema,
  messageHistorySchema,
  personaHistoriesInputSchema,
  personaHistoriesSchema,
  updateHistoryInputSchema,
} from './schemas';

const tags: ApiTag[] = ['chat'];

export const chatRouter = {
  send: authedProcedure
    .use(idempotent)
    .meta(
      rest('POST', '/personas/{persona_id}/chat', {
        idempotent: true,
        tags,
        summary: 'Send a message to a persona and get its reply (both are stored together)',
        errors: [
          f.contentRequired,
          f.personaNotFound,
          f.historyNotFound,
          f.chatRateLimited,
          f.quotaExceeded,
          f.modelFailed,
          f.modelTimedOut,
          f.indexesLoading,
        ],
      }),
    )
    .input(chatInputSchema)
    .output(chatResponseSchema)
    .mutation(({ ctx, input, signal }) => ctx.services.chat.send(ctx.user, input, signal)),

  // A streaming mutation, not a subscription: tRPC sends a subscription's input in a GET URL,
  // and chat content never travels in a URL (URLs are logged, cached and kept in histories). A
  // mutation is a POST only (tRPC answers a GET with 405), its input in the body; its events
  // stream to tRPC clients that use `httpBatchStreamLink`, and the SSE route reads them through
  // the caller. No REST meta: that route is its REST face.
  stream: authedProcedure
    .input(chatInputSchema)
    .mutation(({ ctx, input, signal }) =>
      withTRPCErrors(ctx.services.chat.stream(ctx.user, input, signal)),
    ),

  personaHistories: authedProcedure
    .meta(
      rest('GET', '/personas/{persona_id}/message_history', {
        tags,
        summary:
          'Your conversations with a persona, newest first, a page of them, each with its latest messages',
        errors: [f.personaNotFound],
      }),
    )
    .input(personaHistoriesInputSchema)
    .output(personaHistoriesSchema)
    .query(({ ctx, input }) =>
      ctx.services.chat.personaHistories(ctx.user, input.persona_id, input),
    ),

  getHistory: authedProcedure
    .meta(
      rest('GET', '/message_histories/{id}', {
        tags,
        summary: 'One of your conversations, with its latest messages',
        errors: [f.historyNotFound],
      }),
    )
    .input(historyIdInputSchema)
    .output(messageHistorySchema)
    .query(({ ctx, input }) => ctx.services.chat.getHistory(ctx.user, input.id)),

  historyMessages: authedProcedure
    .meta(
      rest('GET', '/message_histories/{id}/messages', {
        tags,
        summary: 'The messages of one of your conversations, a page at a time, oldest first',
        errors: [f.historyNotFound],
      }),
    )
    .input(historyMessagesInputSchema)
    .output(historyMessagesSchema)
    .query(({ ctx, input }) => ctx.services.chat.historyMessages(ctx.user, input)),

  updateHistory: authedProcedure
    .meta(
      rest('PATCH', '/message_histories/{id}', {
        tags,
        summary: 'Rename or describe one of your conversations',
        errors: [f.historyNotFound],
      }),
    )
    .input(updateHistoryInputSchema)
    .output(messageHistorySchema)
    .mutation(({ ctx, input }) => ctx.services.chat.updateHistory(ctx.user, input)),

  deleteHistory: authedProcedure
    .meta(
      rest('DELETE', '/message_histories/{id}', {
        tags,
        summary: 'Delete one of your conversations',
        errors: [f.historyNotFound],
      }),
    )
    .input(historyIdInputSchema)
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.chat.deleteHistory(ctx.user, input.id)),
} satisfies TRPCRouterRecord;
