import type { Role } from './roles';
import type { Scope } from './scopes';
import type { Services } from './services';

/** Who is calling, resolved once per request from `Authorization: Bearer …`. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  /** How the caller authenticated; logout needs the session, key routes do not. */
  credential: { kind: 'session'; sessionId: string } | { kind: 'api_key'; apiKeyId: string };
  /** An API key's scopes; null for a session or a key without them (every scope of the role). */
  scopes: readonly Scope[] | null;
  /** The only personas an API key may see and chat with; null for no such limit. */
  personaIds: readonly string[] | null;
}

export interface Context {
  user: AuthUser | null;
  services: Services;
  /** The `Idempotency-Key` header as sent (checked where a procedure honours it), or null. */
  idempotencyKey: string | null;
  /** The client's address: with the email, who a register is from (there is no user yet). */
  clientAddress: string;
}
