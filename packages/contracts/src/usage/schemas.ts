import { z } from 'zod';
import { idSchema } from '../common';

const isoDate = z.iso.date().meta({ description: 'An ISO date (UTC), e.g. `2026-12-01`' });

export const usageInputSchema = z.strictObject({
  from: isoDate
    .optional()
    .meta({ description: 'First day counted (inclusive); default: 30 days before `to`' }),
  to: isoDate
    .optional()
    .meta({ description: 'Day after the last one counted (exclusive); default: tomorrow' }),
  group_by: z.enum(['day', 'persona', 'user']).optional(),
  user_id: idSchema
    .optional()
    .meta({ description: "Whose usage (admins only for another user's); default: yours" }),
});
export type UsageInput = z.infer<typeof usageInputSchema>;

const tokensSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  calls: z.number().int().meta({ description: 'Language-model calls, failed ones included' }),
});

export const usageReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    totals: tokensSchema,
    groups: z
      .array(
        tokensSchema.extend({
          key: z
            .string()
            .meta({ description: 'The day (`YYYY-MM-DD`), persona id or user id of the group' }),
        }),
      )
      .meta({ description: 'One entry per group, in key order; empty without `group_by`' }),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof usageReportSchema>;
