import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { idSchema, messageSchema, offsetPageInputSchema } from '../common';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { adminProcedure } from '../trpc';
import {
  quotaChangedSchema,
  roleChangedSchema,
  setQuotaInputSchema,
  setRoleInputSchema,
  userListSchema,
} from './schemas';

const tags: ApiTag[] = ['users'];

export const usersRouter = {
  list: adminProcedure
    .meta(rest('GET', '/users', { tags, summary: 'Every user (admin)', errors: [f.notAdmin] }))
    .input(offsetPageInputSchema.optional())
    .output(userListSchema)
    .query(({ ctx, input }) => ctx.services.users.list(input ?? {})),

  setRole: adminProcedure
    .meta(
      rest('PUT', '/users/{user_id}/role', {
        tags,
        summary: "Change a user's role (admin); effective on their next request",
        errors: [f.notAdmin, f.selfChange, f.userNotFound],
      }),
    )
    .input(setRoleInputSchema)
    .output(roleChangedSchema)
    .mutation(({ ctx, input }) => ctx.services.users.setRole(ctx.user, input)),

  setQuota: adminProcedure
    .meta(
      rest('PUT', '/users/{user_id}/quota', {
        tags,
        summary: "Set a user's daily token limit, or null for the server's default (admin)",
        errors: [f.notAdmin, f.userNotFound],
      }),
    )
    .input(setQuotaInputSchema)
    .output(quotaChangedSchema)
    .mutation(({ ctx, input }) => ctx.services.users.setQuota(ctx.user, input)),

  delete: adminProcedure
    .meta(
      rest('DELETE', '/users/{user_id}', {
        tags,
        summary: 'Delete a user with their sessions, keys, histories, personas and collections',
        errors: [f.notAdmin, f.selfChange, f.userNotFound],
      }),
    )
    .input(z.strictObject({ user_id: idSchema }))
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.users.delete(ctx.user, input.user_id)),
} satisfies TRPCRouterRecord;
