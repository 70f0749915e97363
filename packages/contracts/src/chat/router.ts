import type { TRPCRouterRecord } from '@trpc/server';
import { messageSchema } from '../common';
import { rest } from '../openapi';
import { personaIdInputSchema } from '../personas/schemas';
import { authedProcedure } from '../trpc';
import {
  chatInputSchema,
  chatResponseSchema,
  historyIdInputSchema,
  messageHistorySchema,
  personaHistoriesSchema,
  updateHistoryInputSchema,
} from './schemas';

const tags = ['chat'];
const modelErrors = {
  502: 'The language or embedding model failed; nothing was stored',
  504: 'The language or embedding model timed out; nothing was stored',
};

export const chatRouter = {
  send: authedProcedure
    .meta(
      rest('POST', '/personas/{persona_id}/chat', {
        tags,
        summary: 'Send a message to a persona and get its reply (both are stored together)',
        errors: {
          400: 'Message content is required (or another invalid field)',
          404: 'Persona not found, or Message history not found',
          429: 'Too many chat messages; see Retry-After',
          ...modelErrors,
        },
      }),
    )
    .input(chatInputSchema)
    .output(chatResponseSchema)
    .mutation(({ ctx, input, signal }) => ctx.services.chat.send(ctx.user, input, signal)),

  stream: authedProcedure
    .input(chatInputSchema)
    .subscription(({ ctx, input, signal }) => ctx.services.chat.stream(ctx.user, input, signal)),

  personaHistories: authedProcedure
    .meta(
      rest('GET', '/personas/{persona_id}/message_history', {
        tags,
        summary: 'Your conversations with a persona, newest first, each with its messages',
        errors: { 404: 'Persona not found' },
      }),
    )
    .input(personaIdInputSchema)
    .output(personaHistoriesSchema)
    .query(({ ctx, input }) => ctx.services.chat.personaHistories(ctx.user, input.persona_id)),

  getHistory: authedProcedure
    .meta(
      rest('GET', '/message_histories/{id}', {
        tags,
        summary: 'One of your conversations',
        errors: { 404: 'Message history not found' },
      }),
    )
    .input(historyIdInputSchema)
    .output(messageHistorySchema)
    .query(({ ctx, input }) => ctx.services.chat.getHistory(ctx.user, input.id)),

  updateHistory: authedProcedure
    .meta(
      rest('PATCH', '/message_histories/{id}', {
        tags,
        summary: 'Rename or describe one of your conversations',
        errors: { 404: 'Message history not found' },
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
        errors: { 404: 'Message history not found' },
      }),
    )
    .input(historyIdInputSchema)
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.chat.deleteHistory(ctx.user, input.id)),
} satisfies TRPCRouterRecord;
