import {
  type AuthSession,
  type AuthUser,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ROLE_SCOPES,
  type Services,
  UnauthorizedError,
} from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import type { Db } from '../db/connect';
import type { Quota } from '../usage/quota';
import { toUserDto } from '../users/dto';
import { usersRepository } from '../users/repository';
import { apiKeysRepository, sessionsRepository } from './credentials-repository';
import type { LoginThrottle } from './login-throttle';
import type { RegistrationThrottle } from './registration-throttle';
import { hashPassword, verifyAgainstNothing, verifyPassword } from './passwords';
import { issueApiKey, issueSessionToken, parseToken, secretMatches } from './tokens';

const DAY_MS = 24 * 60 * 60 * 1000;
/** An API key's last-used time is written at most this often, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;
const INVALID_CREDENTIALS = 'Invalid email or password';

export interface AuthServiceOptions {
  sessionTtlDays: number;
  registration: 'open' | 'closed';
  /** Today's tokens and limit, which `me` shows. */
  quota: Pick<Quota, 'status'>;
  /** Whether the actor may see a persona: a key's `persona_ids` may name only those. */
  isPersonaVisible: (actor: AuthUser, personaId: string) => Promise<boolean>;
}

/** Failed logins per email and per address; accounts created per address. */
export interface AuthThrottles {
  login: LoginThrottle;
  registration: RegistrationThrottle;
}

export function createAuthService(
  db: Db,
  throttles: AuthThrottles,
  opts: AuthServiceOptions,
): Services['auth'] & { authenticate(token: string): Promise<AuthUser | null> } {
  const ttlMs = opts.sessionTtlDays * DAY_MS;

  async function startSession(
    user: { id: string; role: AuthUser['role'] },
    trx: Db = db,
  ): Promise<AuthSession> {
    const issued = issueSessionToken();
    const expiresAt = new Date(Date.now() + ttlMs);
    await sessionsRepository.insert(trx, {
      id: issued.id,
      user_id: user.id,
      secret_hash: issued.secretHash,
      expires_at: expiresAt,
    });
    return {
      user_id: user.id,
      token: issued.token,
      expires_at: expiresAt.toISOString(),
      role: user.role,
    };
  }

  async function authenticateSession(id: string, secret: string): Promise<AuthUser | null> {
    const session = await sessionsRepository.findWithOwner(db, id);
    if (!session || !secretMatches(secret, session.secret_hash)) return null;
    const now = Date.now();
    const expiresAt = session.expires_at?.getTime() ?? 0;
    if (expiresAt <= now) {
      await sessionsRepository.delete(db, id);
      return null;
    }
    // Sliding expiry (Lucia's rule): once less than half the lifetime is left, renew it in full.
    if (expiresAt - now < ttlMs / 2) await sessionsRepository.extend(db, id, new Date(now + ttlMs));
    return {
      id: session.user_id,
      email: session.email,
      role: session.role,
      credential: { kind: 'session', sessionId: id },
      scopes: null,
      personaIds: null,
    };
  }

  async function authenticateApiKey(id: string, secret: string): Promise<AuthUser | null> {
    const key = await apiKeysRepository.findWithOwner(db, id);
    if (!key || !secretMatches(secret, key.secret_hash)) return null;
    const now = Date.now();
    if (key.expires_at && key.expires_at.getTime() <= now) return null;
    if (!key.last_used_at || now - key.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      await apiKeysRepository.touch(db, id, new Date(now));
    }
    return {
      id: key.user_id,
      email: key.email,
      role: key.role,
      credential: { kind: 'api_key', apiKeyId: id },
      scopes: key.scopes,
      personaIds: key.persona_ids,
    };
  }

  return {
    /** Resolves a bearer token to its user with the role as stored now, or null (→ 401). */
    async authenticate(token) {
      const parsed = parseToken(token);
      if (!parsed) return null;
      return parsed.kind === 'session'
        ? authenticateSession(parsed.id, parsed.secret)
        : authenticateApiKey(parsed.id, parsed.secret);
    },

    async register(input, clientAddress) {
      if (opts.registration === 'closed') {
        throw new ForbiddenError(
          'Registration is closed on this server; ask an admin for an account',
        );
      }
      await throttles.registration.assertAllowed(clientAddress);
      const passwordHash = await hashPassword(input.password);
      const user = await throttles.registration.admit(clientAddress, (trx) =>
        usersRepository.insert(trx, {
          email: input.email,
          name: input.name ?? null,
          password_hash: passwordHash,
        }),
      );
      if (!user) throw new ConflictError('An account with this email already exists');
      return startSession(user);
    },

    async login(input, clientAddress) {
      // Reserved before the password is checked, kept as the failure unless it is right.
      await throttles.login.reserveAttempt({ email: input.email, address: clientAddress });
      const user = await usersRepository.findByEmail(db, input.email);
      const ok = user
        ? await verifyPassword(user.password_hash, input.password)
        : await verifyAgainstNothing(input.password);
      if (!user || !ok) {
        await auditRepository.record(db, {
          actorId: null,
          action: 'auth.login_failed',
          targetId: user?.id ?? null,
        });
        throw new UnauthorizedError(INVALID_CREDENTIALS);
      }
      await throttles.login.clear(input.email);
      return db.transaction().execute(async (trx) => {
        await auditRepository.record(trx, {
          actorId: user.id,
          action: 'auth.login',
          targetId: user.id,
        });
        return startSession(user, trx);
      });
    },

    async logout(actor) {
      if (actor.credential.kind !== 'session') {
        throw new BadRequestError(
          'Logout ends a session; to revoke an API key, DELETE /auth/api-keys/{api_key_id}',
        );
      }
      await sessionsRepository.delete(db, actor.credential.sessionId);
      return { message: 'Logged out successfully' };
    },

    async me(actor) {
      const user = await usersRepository.findById(db, actor.id);
      if (!user) throw new UnauthorizedError();
      return { ...toUserDto(user), quota: await opts.quota.status(actor.id) };
    },

    async createApiKey(actor, input) {
      const beyond = input.scopes?.find((s) => !ROLE_SCOPES[actor.role].includes(s));
      if (beyond) {
        throw new ForbiddenError(`The \`${beyond}\` scope is beyond the ${actor.role} role`);
      }
      // Uuids as Postgres writes them, so the key's list compares equal to the ids it limits.
      const personaIds = input.persona_ids?.map((id) => id.toLowerCase());
      for (const personaId of personaIds ?? []) {
        if (!(await opts.isPersonaVisible(actor, personaId))) {
          throw new NotFoundError(`Persona not found: ${personaId}`);
        }
      }
      const issued = issueApiKey();
      const expiresAt = input.expires_in_days
        ? new Date(Date.now() + input.expires_in_days * DAY_MS)
        : null;
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await apiKeysRepository.insert(trx, {
          id: issued.id,
          user_id: actor.id,
          name: input.name,
          secret_hash: issued.secretHash,
          expires_at: expiresAt,
          scopes: input.scopes ? JSON.stringify(input.scopes) : null,
          persona_ids: personaIds ? JSON.stringify(personaIds) : null,
        });
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'api_key.created',
          targetId: inserted.id,
        });
        return inserted;
      });
      return {
        api_key_id: row.id,
        key: issued.token,
        name: row.name,
        expires_at: row.expires_at?.toISOString() ?? null,
        scopes: row.scopes,
        persona_ids: row.persona_ids,
      };
    },

    async listApiKeys(actor, page) {
      const { rows, next_cursor } = await apiKeysRepository.listForUser(db, actor.id, page);
      return {
        next_cursor,
        api_keys: rows.map((k) => ({
          api_key_id: k.id,
          name: k.name,
          created_at: k.created_at.toISOString(),
          expires_at: k.expires_at?.toISOString() ?? null,
          last_used_at: k.last_used_at?.toISOString() ?? null,
          scopes: k.scopes,
          persona_ids: k.persona_ids,
        })),
      };
    },

    async deleteApiKey(actor, apiKeyId) {
      // Someone else's key is indistinguishable from a missing one: 404 either way.
      const deleted = await db.transaction().execute(async (trx) => {
        const gone = await apiKeysRepository.deleteOwned(trx, apiKeyId, actor.id);
        if (gone) {
          await auditRepository.record(trx, {
            actorId: actor.id,
            action: 'api_key.deleted',
            targetId: apiKeyId,
          });
        }
        return gone;
      });
      if (!deleted) throw new NotFoundError('API key not found');
      return { message: 'API key deleted successfully' };
    },
  };
}
