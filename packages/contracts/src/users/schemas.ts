import { z } from 'zod';
import { meSchema } from '../auth/schemas';
import { idSchema, pageOf } from '../common';
import { roleSchema } from '../roles';

export const userListSchema = pageOf('users', meSchema);
export type UserList = z.infer<typeof userListSchema>;

export const setRoleInputSchema = z.strictObject({ user_id: idSchema, role: roleSchema });
export type SetRoleInput = z.infer<typeof setRoleInputSchema>;

export const roleChangedSchema = z.object({
  message: z.string(),
  user_id: z.string(),
  role: roleSchema,
});
export type RoleChanged = z.infer<typeof roleChangedSchema>;
