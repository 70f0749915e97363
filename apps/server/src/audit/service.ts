import type { AuditAction, Services } from '@personas/contracts';
import type { Db } from '../db/connect';
import { auditRepository } from './repository';

/** The `audit` port: the trail, for admins (the procedure checks the role). */
export function createAuditService(db: Db): Services['audit'] {
  return {
    async list(input) {
      const { rows, next_cursor } = await auditRepository.list(db, input);
      return {
        next_cursor,
        events: rows.map((e) => ({
          id: e.id,
          at: e.at.toISOString(),
          actor_id: e.actor_id,
          action: e.action as AuditAction,
          target_type: e.target_type,
          target_id: e.target_id,
          ip: e.ip,
          request_id: e.request_id,
        })),
      };
    },
  };
}
