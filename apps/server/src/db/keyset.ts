import {
  BadRequestError,
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  type PageInput,
} from '@personas/contracts';
import { type RawBuilder, sql } from 'kysely';
import { isUuid } from '../lib/uuid';

/**
 * Keyset pages: each list orders by an indexed key, fetches one row more than the page to know
 * whether another follows, and hands out the last row's key as the cursor. Unlike an offset, a
 * row inserted or deleted meanwhile neither repeats nor skips rows on the next page.
 */

/** Rows to fetch for a page: one more than it holds. */
export function fetchSize(page: PageInput): number {
  return (page.limit ?? DEFAULT_PAGE_SIZE) + 1;
}

/** The page's rows and the cursor after its last one (null when nothing follows). */
export function toPage<T>(
  rows: T[],
  page: PageInput,
  keyOf: (row: T) => string[],
): { rows: T[]; next_cursor: string | null } {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  if (rows.length <= limit) return { rows, next_cursor: null };
  const kept = rows.slice(0, limit);
  return { rows: kept, next_cursor: encodeCursor(keyOf(kept[kept.length - 1] as T)) };
}

const wrongList = () => new BadRequestError('The cursor does not belong to this list');

/**
 * A timestamp with its microseconds, in UTC: a JavaScript Date would drop them, and two rows of
 * one millisecond would then compare wrongly against the cursor.
 */
export function exactTimestamp(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

const EXACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** `[timestamp, id]` from a `(created_at, id)` list's cursor; a 400 for any other cursor. */
export function timeIdKey(cursor: string, opts: { uuid: boolean }): { at: string; id: string } {
  const key = decodeCursor(cursor);
  if (key?.length !== 2) throw wrongList();
  const [at, id] = key as [string, string];
  // The regex alone lets 2026-02-31 through, which Postgres would refuse with an error (a 500).
  const valid =
    EXACT_TIMESTAMP.test(at) &&
    new Date(`${at.slice(0, 23)}Z`).toISOString().slice(0, 23) === at.slice(0, 23);
  if (!valid || (opts.uuid && !isUuid(id))) throw wrongList();
  return { at, id };
}

/** A one-value cursor (`name`, `seq`) whose value matches `pattern`; a 400 otherwise. */
export function singleKey(cursor: string, pattern: RegExp, tag?: string): string {
  const key = decodeCursor(cursor);
  const value = tag === undefined ? key?.[0] : key?.[0] === tag ? key[1] : undefined;
  if (!key || key.length !== (tag === undefined ? 1 : 2) || !value || !pattern.test(value)) {
    throw wrongList();
  }
  return value;
}

/** `(time, id) > (at, id)` or `<`, on the row values, so the `(…, created_at, id)` index serves it. */
export function afterTimeId(
  timeColumn: string,
  idColumn: string,
  key: { at: string; id: string },
  direction: 'asc' | 'desc' = 'asc',
): RawBuilder<boolean> {
  const op = sql.raw(direction === 'asc' ? '>' : '<');
  return sql<boolean>`(${sql.ref(timeColumn)}, ${sql.ref(idColumn)}) ${op} (${key.at}::timestamptz, ${key.id})`;
}
