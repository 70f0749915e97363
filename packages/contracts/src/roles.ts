import { z } from 'zod';

/** Roles in rank order: each one can do everything the ones before it can. */
export const ROLES = ['user', 'builder', 'admin'] as const;
export const roleSchema = z.enum(ROLES).meta({ description: 'admin > builder > user' });
export type Role = z.infer<typeof roleSchema>;

export function hasRole(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}
