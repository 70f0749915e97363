import { z } from 'zod';
import { userSchema } from '../auth/schemas';
import { idSchema, pageOf } from '../common';
import { jsonNumber } from '../json-number';
import { roleSchema } from '../roles';

export const userListSchema = pageOf('users', userSchema);
export type UserList = z.infer<typeof userListSchema>;

export const setRoleInputSchema = z.strictObject({ user_id: idSchema, role: roleSchema });
export type SetRoleInput = z.infer<typeof setRoleInputSchema>;

export const roleChangedSchema = z.object({
  message: z.string(),
  user_id: z.string(),
  role: roleSchema,
});
export type RoleChanged = z.infer<typeof roleChangedSchema>;

/** The largest daily token limit: `users.daily_token_limit` is a Postgres integer (int4). */
export const MAX_DAILY_TOKEN_LIMIT = 2_147_483_647;

export const setQuotaInputSchema = z.strictObject({
  user_id: idSchema,
  daily_token_limit: z
    // At most what the column (a Postgres integer) holds: more was a database error, a 500.
    .union([jsonNumber(z.number().int().min(0).max(MAX_DAILY_TOKEN_LIMIT)), z.null()])
    .meta({
      description: "Tokens a day (UTC); null: the server's default (`USER_DAILY_TOKEN_LIMIT`)",
    }),
});
export type SetQuotaInput = z.infer<typeof setQuotaInputSchema>;

export const quotaChangedSchema = z.object({
  message: z.string(),
  user_id: z.string(),
  daily_token_limit: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'The override now set; null: the default applies' }),
});
export type QuotaChanged = z.infer<typeof quotaChangedSchema>;
