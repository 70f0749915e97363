import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';
import { migrateToLatest } from './migrate';

/** Resolves when `open` is called: lets a test hold one transaction open at a known point. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

async function isolationHolds(database: TestDatabase) {
  const { db } = database;
  await migrateToLatest(db);
  const firstWrote = gate();
  const releaseFirst = gate();

  const doomed = db
    .transaction()
    .execute(async (trx) => {
      await trx.insertInto('app_meta').values({ key: 'doomed', value: '1' }).execute();
      firstWrote.open();
      await releaseFirst.opened;
      throw new Error('roll me back');
    })
    .catch((error: Error) => error.message);

  await firstWrote.opened;
  // Started while the first transaction is open and holding an uncommitted row.
  const survivor = db.transaction().execute(async (trx) => {
    const seen = await trx
      .selectFrom('app_meta')
      .select('key')
      .where('key', '=', 'doomed')
      .execute();
    await trx.insertInto('app_meta').values({ key: 'survivor', value: '2' }).execute();
    return seen.length;
  });
  // A plain query outside any transaction, issued while the first is still open.
  const outside = db.insertInto('app_meta').values({ key: 'outside', value: '3' }).execute();
  releaseFirst.open();

  expect(await doomed).toBe('roll me back');
  expect(await survivor).toBe(0);
  await outside;
  const keys = await db.selectFrom('app_meta').select('key').orderBy('key').execute();
  expect(keys.map((r) => r.key)).toEqual(['outside', 'survivor']);
}

describe('transactions', () => {
  let embedded: TestDatabase;
  let configured: TestDatabase;
  beforeAll(async () => {
    embedded = await openTestDatabase({ kind: 'pglite' });
    configured = await openTestDatabase();
  });
  afterAll(async () => {
    await embedded?.[Symbol.asyncDispose]();
    await configured?.[Symbol.asyncDispose]();
  });

  it('stay isolated on the embedded database: one rolls back, the other and a plain write survive', async () => {
    expect(embedded.kind).toBe('pglite');
    await isolationHolds(embedded);
  });

  it('stay isolated on the configured database too', async () => {
    await isolationHolds(configured);
  });

  it('reports int8 as numbers on either database', async () => {
    const { rows } = await sql<{ n: number }>`select count(*) as n from app_meta`.execute(
      configured.db,
    );
    expect(typeof rows[0]?.n).toBe('number');
  });
});
