import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { idSchema, messageSchema, pageSchema } from '../common';
import { rest } from '../openapi';
import { adminProcedure } from '../trpc';
import { roleChangedSchema, setRoleInputSchema, userListSchema } from './schemas';

const tags = ['users'];
const adminOnly = { 403: 'Only admins may do this' };

export const usersRouter = {
  list: adminProcedure
    .meta(rest('GET', '/users', { tags, summary: 'Every user (admin)', errors: adminOnly }))
    .input(pageSchema.optional())
    .output(userListSchema)
    .query(({ ctx, input }) => ctx.services.users.list(input ?? { limit: 200, offset: 0 })),

  setRole: adminProcedure
    .meta(
      rest('PUT', '/users/{user_id}/role', {
        tags,
        summary: "Change a user's role (admin); effective on their next request",
        errors: { ...adminOnly, 404: 'No such user' },
      }),
    )
    .input(setRoleInputSchema)
    .output(roleChangedSchema)
    .mutation(({ ctx, input }) => ctx.services.users.setRole(ctx.user, input)),

  delete: adminProcedure
    .meta(
      rest('DELETE', '/users/{user_id}', {
        tags,
        summary: 'Delete a user with their sessions, keys, histories, personas and collections',
        errors: { ...adminOnly, 404: 'No such user' },
      }),
    )
    .input(z.strictObject({ user_id: idSchema }))
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.users.delete(ctx.user, input.user_id)),
} satisfies TRPCRouterRecord;
