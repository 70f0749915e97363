import { z } from 'zod';
import type { AuthUser } from './context';
import { MissingScopeError, SessionRequiredError } from './errors';
import type { Role } from './roles';

/** What an API key may be limited to; a key with no `scopes` has every scope its owner's role has. */
export const SCOPES = [
  'chat',
  'knowledge:read',
  'knowledge:write',
  'personas:write',
  'admin',
] as const;
export const scopeSchema = z.enum(SCOPES).meta({
  description:
    '`chat`: personas, chat and your histories; `knowledge:read` / `knowledge:write`: collections, documents and search; `personas:write`: building personas; `admin`: users, quotas, audit, others’ usage',
});
export type Scope = z.infer<typeof scopeSchema>;

/** The scopes each role can hold: a key never asks for more than its owner's role. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  user: ['chat'],
  builder: ['chat', 'knowledge:read', 'knowledge:write', 'personas:write'],
  admin: SCOPES,
};

/**
 * What each procedure asks of the credential that calls it, the one table the scope check reads:
 * a scope; `any` (every signed-in caller, any key); `session` (a session token only: keys are
 * never managed with a key, so a key can never mint a wider one); `public` (no sign-in).
 * A test holds it to exactly the router's procedures.
 */
export const PROCEDURE_SCOPES = {
  'system.info': 'public',
  'auth.register': 'public',
  'auth.login': 'public',
  'auth.logout': 'any',
  'auth.me': 'any',
  'auth.createApiKey': 'session',
  'auth.listApiKeys': 'session',
  'auth.deleteApiKey': 'session',
  'usage.get': 'any',
  'users.list': 'admin',
  'users.setRole': 'admin',
  'users.setQuota': 'admin',
  'users.delete': 'admin',
  'audit.list': 'admin',
  'personas.owned': 'chat',
  'personas.list': 'chat',
  'personas.get': 'chat',
  'personas.build': 'personas:write',
  'personas.update': 'personas:write',
  'personas.delete': 'personas:write',
  'chat.send': 'chat',
  'chat.stream': 'chat',
  'chat.personaHistories': 'chat',
  'chat.getHistory': 'chat',
  'chat.historyMessages': 'chat',
  'chat.updateHistory': 'chat',
  'chat.deleteHistory': 'chat',
  'collections.list': 'knowledge:read',
  'collections.get': 'knowledge:read',
  'collections.listDocuments': 'knowledge:read',
  'collections.getDocument': 'knowledge:read',
  'collections.search': 'knowledge:read',
  'collections.create': 'knowledge:write',
  'collections.delete': 'knowledge:write',
  'collections.addDocument': 'knowledge:write',
  'collections.deleteDocument': 'knowledge:write',
  'collections.retryDocument': 'knowledge:write',
} as const satisfies Record<string, Scope | 'any' | 'session' | 'public'>;
export type ProcedureAccess = (typeof PROCEDURE_SCOPES)[keyof typeof PROCEDURE_SCOPES];

/** Whether the caller's credential carries a scope (a session, or a key without `scopes`: all). */
export function credentialHasScope(scopes: readonly Scope[] | null, scope: Scope): boolean {
  return scopes === null || scopes.includes(scope);
}

/** What the OpenAI-compatible routes (`/v1/*`, not tRPC procedures) ask of a credential. */
export const OPENAI_ROUTES_ACCESS: ProcedureAccess = 'chat';

/**
 * Throws when an API key may not do what `access` needs: a scope it lacks (MissingScopeError), or
 * key management (SessionRequiredError). Sessions and keys without `scopes` pass; the role checks
 * that follow still apply to both.
 */
export function assertCredentialAccess(user: AuthUser | null, access: ProcedureAccess): void {
  if (user?.credential.kind !== 'api_key') return;
  if (access === 'session') throw new SessionRequiredError();
  if (access === 'any' || access === 'public') return;
  if (!credentialHasScope(user.scopes, access)) throw new MissingScopeError(access);
}
