import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../test-support/test-database';

let embedded: TestDatabase;
beforeAll(async () => {
  embedded = await openTestDatabase({ kind: 'pglite' });
});
afterAll(async () => {
  await embedded?.[Symbol.asyncDispose]();
});

describe('the embedded database', () => {
  it('gives the event loop a turn between queries, so other requests are not starved', async () => {
    let turns = 0;
    let running = true;
    const spin = () => {
      if (!running) return;
      turns += 1;
      setImmediate(spin);
    };
    setImmediate(spin);
    // Without the plugin, PGlite answers these 20 queries without a single macrotask turn.
    const before = turns;
    for (let i = 0; i < 20; i++) await sql`select ${i}::int as n`.execute(embedded.db);
    const during = turns - before;
    running = false;
    expect(during).toBeGreaterThanOrEqual(10);
  });
});
