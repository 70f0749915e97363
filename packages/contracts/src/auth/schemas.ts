import { z } from 'zod';
import { idSchema, pageOf, timestampSchema } from '../common';
import { jsonNumber } from '../json-number';
import { roleSchema } from '../roles';
import { scopeSchema } from '../scopes';

// Upper bounds keep a 10 MB "password" from ever reaching argon2: it is a 400, not a slow hash.
export const emailSchema = z
  .email()
  .max(254)
  .transform((e) => e.trim().toLowerCase());
export const passwordSchema = z.string().min(8, 'Password must be at least 8 characters').max(256);

export const registerInputSchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  name: z.string().trim().min(1).max(100).optional(),
});
export type RegisterInput = z.infer<typeof registerInputSchema>;

export const loginInputSchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(256),
});
export type LoginInput = z.infer<typeof loginInputSchema>;

export const authSessionSchema = z
  .object({
    user_id: z.string(),
    token: z.string().meta({ description: 'Send as `Authorization: Bearer <token>`' }),
    expires_at: timestampSchema,
    role: roleSchema,
  })
  .meta({ id: 'AuthSession' });
export type AuthSession = z.infer<typeof authSessionSchema>;

const dailyTokenLimitSchema = z.number().int().nullable().meta({
  description: "Tokens a day (UTC) this user's chats may use; null: no limit",
});

export const userSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: roleSchema,
    created_at: timestampSchema,
    daily_token_limit: dailyTokenLimitSchema,
  })
  .meta({ id: 'User' });
export type UserDto = z.infer<typeof userSchema>;

export const meSchema = userSchema
  .extend({
    quota: z.object({
      daily_token_limit: dailyTokenLimitSchema,
      used_today: z.number().int().meta({ description: 'Tokens used since midnight UTC' }),
      remaining_today: z
        .number()
        .int()
        .nullable()
        .meta({ description: 'Tokens left today; null without a limit' }),
    }),
  })
  .meta({ id: 'Me' });
export type Me = z.infer<typeof meSchema>;

const keyScopesSchema = z
  .array(scopeSchema)
  .min(1)
  .max(5)
  .refine((s) => new Set(s).size === s.length, 'Each scope once')
  .meta({ description: "What the key may do; absent: everything its owner's role may" });
const keyPersonasSchema = z
  .array(idSchema)
  .min(1)
  .max(100)
  .refine((s) => new Set(s).size === s.length, 'Each persona once')
  .meta({ description: 'The only personas the key may see and chat with; absent: no limit' });

export const createApiKeyInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expires_in_days: jsonNumber(z.number().int().min(1).max(3650)).optional(),
  scopes: keyScopesSchema.optional(),
  persona_ids: keyPersonasSchema.optional(),
});
export type CreateApiKeyInput = z.infer<typeof createApiKeyInputSchema>;

export const createdApiKeySchema = z
  .object({
    api_key_id: z.string(),
    key: z.string().meta({ description: 'Shown only once, here' }),
    name: z.string(),
    expires_at: timestampSchema.nullable(),
    scopes: z.array(scopeSchema).nullable(),
    persona_ids: z.array(z.string()).nullable(),
  })
  .meta({ id: 'CreatedApiKey' });
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const apiKeySchema = z
  .object({
    api_key_id: z.string(),
    name: z.string(),
    created_at: timestampSchema,
    expires_at: timestampSchema.nullable(),
    last_used_at: timestampSchema.nullable(),
    scopes: z.array(scopeSchema).nullable(),
    persona_ids: z.array(z.string()).nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof apiKeySchema>;

export const apiKeyListSchema = pageOf('api_keys', apiKeySchema);
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
