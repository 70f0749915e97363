import {
  type IdempotencyClaim,
  IdempotencyInFlightError,
  IdempotencyKeyReusedError,
  type IdempotencyOutcome,
  type Services,
} from '@personas/contracts';
import type { Db } from '../db/connect';
import { idempotencyRepository as keys } from './repository';
import { requestHash } from './request-hash';

/** How often one process deletes the keys past their lifetime (on the way to a claim). */
const TRIM_EVERY_MS = 60_000;
/** What a request in flight under a key tells its duplicate to wait before trying again. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;
/**
 * How long a key may stay in flight before it is taken for abandoned (its process died): longer
 * than any request runs (model calls time out after `MODEL_TIMEOUT_MS`, 60 s by default).
 */
const IN_FLIGHT_LEASE_MS = 10 * 60_000;

/** The `idempotency` port over Postgres: a key's claim, its kept answer, and its trim by age. */
export function createIdempotencyService(
  db: Db,
  opts: { ttlMs: number; leaseMs?: number; now?: () => number },
): Services['idempotency'] {
  const now = opts.now ?? Date.now;
  let lastTrim = Number.NEGATIVE_INFINITY;
  const lifetimes = { ttlMs: opts.ttlMs, leaseMs: opts.leaseMs ?? IN_FLIGHT_LEASE_MS };

  return {
    async claim(claim: IdempotencyClaim): Promise<IdempotencyOutcome> {
      if (now() - lastTrim >= TRIM_EVERY_MS) {
        lastTrim = now();
        await keys.deleteOlderThan(db, opts.ttlMs);
      }
      const hash = requestHash(claim.request);
      const row = { caller: claim.caller, key: claim.key, requestHash: hash };
      if (await keys.claim(db, row, lifetimes)) return { state: 'claimed' };
      const held = await keys.find(db, claim.caller, claim.key);
      // Released between our insert and this read: the key is free again; claim it once more.
      if (!held) {
        if (await keys.claim(db, row, lifetimes)) return { state: 'claimed' };
        throw new IdempotencyInFlightError(IN_FLIGHT_RETRY_AFTER_SECONDS);
      }
      if (held.request_hash !== hash) throw new IdempotencyKeyReusedError();
      if (held.state === 'in_flight' || held.status === null) {
        throw new IdempotencyInFlightError(IN_FLIGHT_RETRY_AFTER_SECONDS);
      }
      return { state: 'replay', status: held.status, body: held.response };
    },

    async complete(claim, answer) {
      await keys.complete(db, claim.caller, claim.key, answer);
    },

    async release(claim) {
      await keys.release(db, claim.caller, claim.key);
    },
  };
}
