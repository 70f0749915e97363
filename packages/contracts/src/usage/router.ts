import type { TRPCRouterRecord } from '@trpc/server';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { authedProcedure } from '../trpc';
import { usageInputSchema, usageReportSchema } from './schemas';

const tags: ApiTag[] = ['usage'];

export const usageRouter = {
  get: authedProcedure
    .meta(
      rest('GET', '/usage', {
        tags,
        summary: 'Language-model tokens used, in total and grouped by day, persona or user',
        errors: [f.othersUsageNotAdmin, f.badUsageRange],
      }),
    )
    .input(usageInputSchema.optional())
    .output(usageReportSchema)
    .query(({ ctx, input }) => ctx.services.usage.report(ctx.user, input ?? {})),
} satisfies TRPCRouterRecord;
