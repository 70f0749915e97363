import { ForbiddenError, NotFoundError, type Role, type Services } from '@personas/contracts';
import { auditRepository } from '../audit/repository';
import { sessionsRepository } from '../auth/credentials-repository';
import { hashPassword } from '../auth/passwords';
import type { Db } from '../db/connect';
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

export function createUsersService(db: Db, opts: UsersServiceOptions): Services['users'] {
  return {
    async list(page) {
      const { rows, next_cursor } = await usersRepository.list(db, page);
      return { users: rows.map(toUserDto), next_cursor };
    },

    async setRole(actor, input) {
      // Guards against an admin locking everyone (including themself) out by accident.
      if (input.user_id === actor.id) throw new ForbiddenError(SELF_CHANGE);
      await db.transaction().execute(async (trx) => {
        const changed = await usersRepository.setRole(trx, input.user_id, input.role);
        if (!changed) throw new NotFoundError('User not found');
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'user.role_changed',
          targetId: input.user_id,
        });
      });
      return { message: 'Role updated successfully', user_id: input.user_id, role: input.role };
    },

    async setQuota(actor, input) {
      await db.transaction().execute(async (trx) => {
        const changed = await usersRepository.setDailyTokenLimit(
          trx,
          input.user_id,
          input.daily_token_limit,
        );
        if (!changed) throw new NotFoundError('User not found');
        await auditRepository.record(trx, {
          actorId: actor.id,
          action: 'user.quota_changed',
          targetId: input.user_id,
        });
      });
      return {
        message: 'Quota updated successfully',
        user_id: input.user_id,
        daily_token_limit: input.daily_token_limit,
      };
    },

    async delete(actor, userId) {
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
