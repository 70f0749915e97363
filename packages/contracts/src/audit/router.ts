import type { TRPCRouterRecord } from '@trpc/server';
import { type ApiTag, rest } from '../openapi';
import { failures as f } from '../openapi-errors';
import { adminProcedure } from '../trpc';
import { auditInputSchema, auditPageSchema } from './schemas';

const tags: ApiTag[] = ['audit'];

export const auditRouter = {
  list: adminProcedure
    .meta(
      rest('GET', '/audit', {
        tags,
        summary: 'Security-relevant events, newest first (admin)',
        errors: [f.notAdmin],
      }),
    )
    .input(auditInputSchema.optional())
    .output(auditPageSchema)
    .query(({ ctx, input }) => ctx.services.audit.list(input ?? {})),
} satisfies TRPCRouterRecord;
