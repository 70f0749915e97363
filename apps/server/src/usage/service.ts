import {
  BadRequestError,
  credentialHasScope,
  ForbiddenError,
  type Services,
} from '@personas/contracts';
import type { Db } from '../db/connect';
import { startOfUtcDay } from './quota';
import { usageRepository } from './repository';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The `usage` port. `user_id` absent means the caller's own usage, except that an admin grouping
 * by user sees everyone's; another user's usage needs the admin role (and, with an API key, the
 * `admin` scope).
 */
export function createUsageService(db: Db, opts: { now?: () => Date } = {}): Services['usage'] {
  const now = opts.now ?? (() => new Date());
  return {
    async report(actor, input) {
      const mayReadOthers = actor.role === 'admin' && credentialHasScope(actor.scopes, 'admin');
      if (input.user_id !== undefined && input.user_id !== actor.id && !mayReadOthers) {
        throw new ForbiddenError("Only admins may read another user's usage");
      }
      const everyone = input.user_id === undefined && input.group_by === 'user' && mayReadOthers;
      const to = input.to
        ? new Date(`${input.to}T00:00:00Z`)
        : new Date(startOfUtcDay(now()).getTime() + DAY_MS);
      const from = input.from
        ? new Date(`${input.from}T00:00:00Z`)
        : new Date(to.getTime() - DEFAULT_DAYS * DAY_MS);
      if (from >= to || to.getTime() - from.getTime() > MAX_DAYS * DAY_MS) {
        throw new BadRequestError(`\`from\` must be before \`to\`, at most ${MAX_DAYS} days apart`);
      }
      const { totals, groups } = await usageRepository.report(db, {
        from,
        to,
        userId: everyone ? null : (input.user_id ?? actor.id),
        groupBy: input.group_by,
      });
      return { from: isoDay(from), to: isoDay(to), totals, groups };
    },
  };
}
