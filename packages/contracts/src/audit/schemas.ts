import { z } from 'zod';
import { idSchema, pageInputSchema, pageOf, timestampSchema } from '../common';

/** Every action the audit trail records, `<target_type>.<verb>`. */
export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'user.role_changed',
  'user.quota_changed',
  'user.deleted',
  'api_key.created',
  'api_key.deleted',
  'persona.created',
  'persona.updated',
  'persona.deleted',
  'collection.created',
  'collection.deleted',
  'document.added',
  'document.deleted',
] as const;
export const auditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditActionSchema>;

export const auditInputSchema = pageInputSchema.extend({
  actor_id: idSchema.optional().meta({ description: 'Only events by this user' }),
  action: auditActionSchema.optional().meta({ description: 'Only events of this action' }),
});
export type AuditInput = z.infer<typeof auditInputSchema>;

export const auditEventSchema = z
  .object({
    id: z.string(),
    at: timestampSchema,
    actor_id: z.string().nullable().meta({ description: 'Who did it; null when nobody signed in' }),
    action: auditActionSchema,
    target_type: z.string().meta({ description: 'The noun before the dot of `action`' }),
    target_id: z.string().nullable(),
    ip: z.string().nullable(),
    request_id: z
      .string()
      .nullable()
      .meta({ description: 'The `X-Request-Id` of the response to the request that did it' }),
  })
  .meta({ id: 'AuditEvent' });
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const auditPageSchema = pageOf('events', auditEventSchema);
export type AuditPage = z.infer<typeof auditPageSchema>;
