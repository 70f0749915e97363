import { ForbiddenError, NotFoundError, type Role, type Services } from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import { sessionsRepository } from '../auth/credentials-repository';
import { hashPassword } from '../auth/passwords';
import type { Db } from '../db/connect';
import { isUuid } from '../lib/uuid';
import { toUserDto } from './dto';
import { usersRepository } from './repository';

const SELF_CHANGE =
  'Admins cannot change their own role or delete themselves; another admin must do it';

export interface UsersServiceOptions {
  /**
   * Runs `deleteUser` (true when the user existed) the way the collections domain needs it: under
   * the locks of the user's collections, dropping their indexes once they are gone.
   */
  removeWithCollections: (userId: string, deleteUser: () => Promise<boolean>) => Promise<boolean>;
}

/**
 * A user id as the database spells it. Postgres reads a uuid in any letter case, so
 * `7B8C…` names the same row as `7b8c…`: ids from a path are lowered before they are compared
 * with the caller's own, or an admin could delete or demote themself by shouting.
 */
function canonicalUserId(id: string): string {
  return isUuid(id) ? id.toLowerCase() : id;
}

export function createUsersService(db: Db, opts: UsersServiceOptions): Services['users'] {
  return {
    async list(page) {
      const { rows, next_cursor } = await usersRepository.list(db, page);
      return { users: rows.map(toUserDto), next_cursor };
    },

    async setRole(actor, input) {
      const userId = canonicalUserId(input.user_id);
      // Guards against an admin locking everyone (including themself) out by accident.
      if (userId === actor.id) throw new ForbiddenError(SELF_CHANGE);
      await db.transaction().execute(async (trx) => {
        const changed = await usersRepository.setRole(trx, userId, input.role);
        if (!changed) throw new NotFoundError('User not found');
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'user.role_changed',
          targetId: userId,
        });
      });
      return { message: 'Role updated successfully', user_id: userId, role: input.role };
    },

    async setQuota(actor, input) {
      const userId = canonicalUserId(input.user_id);
      await db.transaction().execute(async (trx) => {
        const changed = await usersRepository.setDailyTokenLimit(
          trx,
          userId,
          input.daily_token_limit,
        );
        if (!changed) throw new NotFoundError('User not found');
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'user.quota_changed',
          targetId: userId,
        });
      });
      return {
        message: 'Quota updated successfully',
        user_id: userId,
        daily_token_limit: input.daily_token_limit,
      };
    },

    async delete(actor, id) {
      const userId = canonicalUserId(id);
      if (userId === actor.id) throw new ForbiddenError(SELF_CHANGE);
      // Sessions, keys, histories, personas and collections (with their chunks) go by cascade in
      // the same statement; the in-memory indexes of those collections are dropped after it.
      const deleted = await opts.removeWithCollections(userId, () =>
        db.transaction().execute(async (trx) => {
          const gone = await usersRepository.delete(trx, userId);
          if (gone) {
            await auditRepository.record(trx, {
              actorId: actor.id,
              action: 'user.deleted',
              targetId: userId,
            });
          }
          return gone;
        }),
      );
      if (!deleted) throw new NotFoundError('User not found');
      return { message: 'User deleted successfully' };
    },
  };
}

/** Creates an account with the given role; undefined when the email is taken. */
export async function createUser(
  db: Db,
  input: { email: string; password: string; role: Role; name?: string | null },
): Promise<string | undefined> {
  const row = await usersRepository.insert(db, {
    email: input.email.trim().toLowerCase(),
    name: input.name ?? null,
    password_hash: await hashPassword(input.password),
    role: input.role,
  });
  return row?.id;
}

/**
 * The ADMIN_EMAIL/ADMIN_PASSWORD bootstrap: creates that account as admin when absent, or
 * promotes it when present (its password is left alone: the operator may have changed it).
 */
export async function ensureAdmin(
  db: Db,
  input: { email: string; password: string },
): Promise<'created' | 'promoted' | 'unchanged'> {
  const id = await createUser(db, { ...input, role: 'admin' });
  if (id) return 'created';
  const existing = await usersRepository.findByEmail(db, input.email.trim().toLowerCase());
  if (!existing || existing.role === 'admin') return 'unchanged';
  await usersRepository.setRole(db, existing.id, 'admin');
  return 'promoted';
}

/** Sets a new password and ends every session of that user. False when the email is unknown. */
export async function resetPassword(db: Db, email: string, password: string): Promise<boolean> {
  const user = await usersRepository.findByEmail(db, email.trim().toLowerCase());
  if (!user) return false;
  const passwordHash = await hashPassword(password);
  await db.transaction().execute(async (trx) => {
    await usersRepository.setPasswordHash(trx, user.id, passwordHash);
    await sessionsRepository.deleteAllOfUser(trx, user.id);
  });
  return true;
}
