import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/connect';
import type { NewUsageRecordRow } from '../db/schema';

/** Sums of a set of usage records, as numbers (pg answers a bigint sum as a string). */
export interface UsageSums {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  calls: number;
}

const sums = [
  sql<string>`coalesce(sum(prompt_tokens), 0)`.as('prompt_tokens'),
  sql<string>`coalesce(sum(completion_tokens), 0)`.as('completion_tokens'),
  sql<string>`count(*)`.as('calls'),
] as const;

function toSums(row: { prompt_tokens: unknown; completion_tokens: unknown; calls: unknown }) {
  const prompt = Number(row.prompt_tokens);
  const completion = Number(row.completion_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    calls: Number(row.calls),
  };
}

export type UsageGroup = 'day' | 'persona' | 'user';

const groupKey: Record<UsageGroup, RawBuilder<string>> = {
  day: sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`,
  persona: sql<string>`coalesce(persona_id::text, '')`,
  user: sql<string>`user_id::text`,
};

/** One row per language-model call (index `usage_records_user_created_at`). */
export const usageRepository = {
  async insert(db: Db, record: NewUsageRecordRow): Promise<void> {
    await db.insertInto('usage_records').values(record).execute();
  },

  /** Deletes records older than `ageMs`; how many went. */
  async trimOlderThan(db: Db, ageMs: number, now: Date): Promise<number> {
    const result = await db
      .deleteFrom('usage_records')
      .where('created_at', '<', new Date(now.getTime() - ageMs))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  /** Tokens a user's calls used from `since` on. */
  async tokensSince(db: Db, userId: string, since: Date): Promise<number> {
    const row = await db
      .selectFrom('usage_records')
      .select(sql<string>`coalesce(sum(prompt_tokens + completion_tokens), 0)`.as('tokens'))
      .where('user_id', '=', userId)
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(row.tokens);
  },

  /** Totals over `[from, to)`, of one user or everyone, and the same per group when asked. */
  async report(
    db: Db,
    q: { from: Date; to: Date; userId: string | null; groupBy: UsageGroup | undefined },
  ): Promise<{ totals: UsageSums; groups: (UsageSums & { key: string })[] }> {
    let base = db
      .selectFrom('usage_records')
      .where('created_at', '>=', q.from)
      .where('created_at', '<', q.to);
    if (q.userId !== null) base = base.where('user_id', '=', q.userId);
    const totals = toSums(await base.select([...sums]).executeTakeFirstOrThrow());
    if (!q.groupBy) return { totals, groups: [] };
    const key = groupKey[q.groupBy];
    const rows = await base
      .select([...sums, key.as('key')])
      .groupBy(key)
      .orderBy(key)
      .execute();
    return { totals, groups: rows.map((r) => ({ key: String(r.key), ...toSums(r) })) };
  },
};
