import type { Role } from './roles';
import type { Services } from './services';

/** Who is calling, resolved once per request from `Authorization: Bearer …`. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  /** How the caller authenticated; logout needs the session, key routes do not. */
  credential: { kind: 'session'; sessionId: string } | { kind: 'api_key'; apiKeyId: string };
}

export interface Context {
  user: AuthUser | null;
  services: Services;
  /** The `Idempotency-Key` header as sent (checked where a procedure honours it), or null. */
  idempotencyKey: string | null;
  /** The client's address: with the email, who a register is from (there is no user yet). */
  clientAddress: string;
}
