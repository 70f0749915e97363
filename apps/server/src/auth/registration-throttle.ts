import type { Db } from '../db/connect';
import { lockAddress } from './address-lock';
import { registrationsRepository } from './registrations-repository';
import { assertWindowHasRoom } from './throttle-window';

export interface RegistrationThrottleOptions {
  maxPerAddress: number;
  windowMs: number;
}

/**
 * Counts the accounts created from each client address in Postgres (shared by every process):
 * once `maxPerAddress` fall inside the window, registering from that address is refused with 429
 * until the oldest of them leaves it. Only accounts actually created count (a taken email does not).
 */
export function createRegistrationThrottle(db: Db, opts: RegistrationThrottleOptions) {
  async function assertAllowedIn(handle: Db, address: string, now: Date): Promise<void> {
    const since = new Date(now.getTime() - opts.windowMs);
    assertWindowHasRoom({
      nthNewest: await registrationsRepository.nthNewestSince(
        handle,
        address,
        since,
        opts.maxPerAddress,
      ),
      windowMs: opts.windowMs,
      now,
      message: 'Too many accounts created from this address; try again later',
    });
  }

  return {
    /**
     * A cheap early refusal, before the password is hashed: an address over its limit does not
     * get to spend the server's CPU. Not the guard itself; `admit` is.
     */
    assertAllowed: (address: string, now = new Date()) => assertAllowedIn(db, address, now),

    /**
     * Runs `create` and counts its account in one transaction, under an advisory lock on the
     * address shared by every process: parallel registrations from one address never exceed the
     * limit. `create` answers undefined when it made no account (nothing is counted then).
     */
    async admit<T>(
      address: string,
      create: (trx: Db) => Promise<T | undefined>,
      now = new Date(),
    ): Promise<T | undefined> {
      const created = await db.transaction().execute(async (trx) => {
        await lockAddress(trx, 'registration', address);
        await assertAllowedIn(trx, address, now);
        const made = await create(trx);
        if (made !== undefined) await registrationsRepository.insert(trx, address);
        return made;
      });
      // Keep the table small: registrations older than the window no longer count for anyone.
      await registrationsRepository.deleteOlderThan(db, opts.windowMs);
      return created;
    },
  };
}
export type RegistrationThrottle = ReturnType<typeof createRegistrationThrottle>;
