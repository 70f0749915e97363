import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { offsetPageInputSchema } from '../common';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { authedProcedure, builderProcedure, idempotent } from '../trpc';
import {
  buildPersonaInputSchema,
  ownedPersonasSchema,
  personaCreatedSchema,
  personaDeletedSchema,
  personaIdInputSchema,
  personaListSchema,
  personaSchema,
  personaUpdatedSchema,
  updatePersonaInputSchema,
} from './schemas';

const tags: ApiTag[] = ['personas'];

export const personasRouter = {
  owned: authedProcedure
    .meta(
      rest('GET', '/personas/owned', {
        takesInput: false,
        tags,
        summary: 'Your own personas as {id: name}',
      }),
    )
    .input(z.strictObject({}).optional())
    .output(ownedPersonasSchema)
    .query(({ ctx }) => ctx.services.personas.owned(ctx.user)),

  build: builderProcedure
    .use(idempotent)
    .meta(
      rest('POST', '/personas/build', {
        idempotent: true,
        tags,
        summary: 'Create a persona (builder, admin)',
        errors: [
          f.notBuilder,
          f.buildForOther,
          f.ragCollectionUnreadable,
          f.creatorNotFound,
          f.ragCollectionNotFound,
        ],
      }),
    )
    .input(buildPersonaInputSchema)
    .output(personaCreatedSchema)
    .mutation(({ ctx, input }) => ctx.services.personas.build(ctx.user, input)),

  update: builderProcedure
    .meta(
      rest('PUT', '/personas/build/{persona_id}', {
        tags,
        summary: 'Update any subset of a persona’s fields (its creator, admin)',
        errors: [
          f.notBuilder,
          f.notPersonaCreator,
          f.creatorChangeNotAdmin,
          f.ragCollectionUnreadable,
          f.personaNotFound,
          f.creatorNotFound,
          f.ragCollectionNotFound,
        ],
      }),
    )
    .input(updatePersonaInputSchema)
    .output(personaUpdatedSchema)
    .mutation(({ ctx, input }) => ctx.services.personas.update(ctx.user, input)),

  delete: builderProcedure
    .meta(
      rest('DELETE', '/personas/build/{persona_id}', {
        tags,
        summary: 'Delete a persona (its creator, admin)',
        errors: [f.notBuilder, f.notPersonaCreator, f.personaNotFound],
      }),
    )
    .input(personaIdInputSchema)
    .output(personaDeletedSchema)
    .mutation(({ ctx, input }) => ctx.services.personas.delete(ctx.user, input.persona_id)),

  list: authedProcedure
    .meta(rest('GET', '/personas', { tags, summary: 'Every persona you may chat with' }))
    .input(offsetPageInputSchema.optional())
    .output(personaListSchema)
    .query(({ ctx, input }) => ctx.services.personas.list(ctx.user, input ?? {})),

  get: authedProcedure
    .meta(
      rest('GET', '/personas/{persona_id}', {
        tags,
        summary: 'One persona you may chat with',
        errors: [f.personaNotFound],
      }),
    )
    .input(personaIdInputSchema)
    .output(personaSchema)
    .query(({ ctx, input }) => ctx.services.personas.get(ctx.user, input.persona_id)),
} satisfies TRPCRouterRecord;
