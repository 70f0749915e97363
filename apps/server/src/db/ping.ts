import { sql } from 'kysely';
import type { Db } from './connect';

/** Resolves when the database answers a trivial query; rejects with the driver's error if not. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
