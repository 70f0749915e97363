import { QuotaExceededError } from '@personas/contracts';
import type { Db } from '../db/connect';
import { usersRepository } from '../users/repository';
import { usageRepository } from './repository';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Midnight UTC that began the day of `at`. */
export function startOfUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

export interface QuotaStatus {
  daily_token_limit: number | null;
  used_today: number;
  remaining_today: number | null;
}

export interface Quota {
  status(userId: string): Promise<QuotaStatus>;
  /** Throws QuotaExceededError (429 until midnight UTC) once today's tokens reach the limit. */
  check(userId: string): Promise<void>;
  /** The clock usage is stamped with, the same one the day is judged by. */
  now(): Date;
}

/**
 * Daily token quotas, read from the usage records in Postgres so every server process judges
 * them alike. Checked before the model is called; a call already running when the limit is
 * reached still completes (and counts), so a day can end slightly over.
 */
export function createQuota(
  db: Db,
  opts: { defaultDailyLimit: number | null; now?: () => Date },
): Quota {
  const now = opts.now ?? (() => new Date());

  async function status(userId: string): Promise<QuotaStatus> {
    const user = await usersRepository.findById(db, userId);
    const limit = user?.daily_token_limit ?? opts.defaultDailyLimit;
    const used = await usageRepository.tokensSince(db, userId, startOfUtcDay(now()));
    return {
      daily_token_limit: limit,
      used_today: used,
      remaining_today: limit === null ? null : Math.max(0, limit - used),
    };
  }

  return {
    status,
    now,
    async check(userId) {
      const { remaining_today } = await status(userId);
      if (remaining_today !== 0) return;
      const at = now();
      const untilMidnight = startOfUtcDay(at).getTime() + DAY_MS - at.getTime();
      throw new QuotaExceededError(Math.max(1, Math.ceil(untilMidnight / 1000)));
    },
  };
}
