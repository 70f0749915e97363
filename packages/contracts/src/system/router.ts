import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { rest } from '../openapi';
import { publicProcedure } from '../trpc';
import { systemInfoSchema } from './schemas';

export const systemRouter = {
  info: publicProcedure
    .meta(
      rest('GET', '/system/info', {
        takesInput: false,
        tags: ['system'],
        summary: 'Server version and the providers it is configured with',
        protect: false,
      }),
    )
    .input(z.strictObject({}).optional())
    .output(systemInfoSchema)
    .query(({ ctx }) => ctx.services.system.info()),
} satisfies TRPCRouterRecord;
