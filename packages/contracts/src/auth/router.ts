import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { messageSchema, pageInputSchema } from '../common';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { authedProcedure, idempotent, publicProcedure } from '../trpc';
import {
  apiKeyListSchema,
  authSessionSchema,
  createApiKeyInputSchema,
  createdApiKeySchema,
  loginInputSchema,
  meSchema,
  registerInputSchema,
} from './schemas';

const tags: ApiTag[] = ['auth'];

export const authRouter = {
  register: publicProcedure
    .use(idempotent)
    .meta(
      rest('POST', '/auth/register', {
        idempotent: true,
        tags,
        summary: 'Create an account (role user) and sign in',
        protect: false,
        errors: [f.registrationClosed, f.emailTaken, f.registrationThrottled],
      }),
    )
    .input(registerInputSchema)
    .output(authSessionSchema)
    .mutation(({ ctx, input }) => ctx.services.auth.register(input, ctx.clientAddress)),

  login: publicProcedure
    .meta(
      rest('POST', '/auth/login', {
        tags,
        summary: 'Sign in with email and password',
        protect: false,
        errors: [f.wrongCredentials, f.loginThrottled],
      }),
    )
    .input(loginInputSchema)
    .output(authSessionSchema)
    .mutation(({ ctx, input }) => ctx.services.auth.login(input, ctx.clientAddress)),

  logout: authedProcedure
    .meta(
      rest('POST', '/auth/logout', {
        takesInput: false,
        tags,
        summary: 'End the current session; its token stops working at once',
        errors: [f.logoutWithApiKey],
      }),
    )
    .input(z.strictObject({}).optional())
    .output(messageSchema)
    .mutation(({ ctx }) => ctx.services.auth.logout(ctx.user)),

  me: authedProcedure
    .meta(rest('GET', '/auth/me', { takesInput: false, tags, summary: 'The signed-in user' }))
    .input(z.strictObject({}).optional())
    .output(meSchema)
    .query(({ ctx }) => ctx.services.auth.me(ctx.user)),

  createApiKey: authedProcedure
    .use(idempotent)
    .meta(
      rest('POST', '/auth/api-keys', {
        idempotent: true,
        tags,
        summary: 'Create an API key for the signed-in user (the key is shown only here)',
        errors: [f.scopeBeyondRole, f.keyPersonaNotFound],
      }),
    )
    .input(createApiKeyInputSchema)
    .output(createdApiKeySchema)
    .mutation(({ ctx, input }) => ctx.services.auth.createApiKey(ctx.user, input)),

  listApiKeys: authedProcedure
    .meta(
      rest('GET', '/auth/api-keys', {
        tags,
        summary: "The signed-in user's API keys",
      }),
    )
    .input(pageInputSchema.optional())
    .output(apiKeyListSchema)
    .query(({ ctx, input }) => ctx.services.auth.listApiKeys(ctx.user, input ?? {})),

  deleteApiKey: authedProcedure
    .meta(
      rest('DELETE', '/auth/api-keys/{api_key_id}', {
        tags,
        summary: 'Revoke one of your API keys',
        errors: [f.apiKeyNotFound],
      }),
    )
    .input(z.strictObject({ api_key_id: z.string().min(1).max(100) }))
    .output(messageSchema)
    .mutation(({ ctx, input }) => ctx.services.auth.deleteApiKey(ctx.user, input.api_key_id)),
} satisfies TRPCRouterRecord;
