import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { type ForeignKeyEdge, foreignKeyOrder } from './foreign-key-order';

/** Kysely's own bookkeeping: each side has its own, written by its migrations. */
const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];

/** Rows read and inserted at a time, unless a table's width asks for fewer. */
export const DEFAULT_COPY_BATCH_ROWS = 500;

/** Bind parameters one statement may carry: the protocol counts them in 16 bits. */
const MAX_PARAMETERS = 65_000;

export class CopyRefused extends Error {
  override name = 'CopyRefused';
}

export interface CopySummary {
  /** Rows copied per table, in the order the tables were filled. */
  tables: { name: string; rows: number }[];
  /** Each sequence's next value on the target: the one the source would have handed out next. */
  sequences: { name: string; next: string }[];
  /** Foreign keys dropped during the copy and added back (cycles, self-references). */
  suspended: string[];
}

interface Column {
  name: string;
  /** `format_type`: the type with its modifiers, as the target declares it. */
  type: string;
  identity: '' | 'a' | 'd';
}

/**
 * Copies every row of every table of `source` into `target`, both on the same schema (the same
 * migrations applied) and the target empty of rows. Tables and columns are read from the
 * catalogs, so tables added by later migrations are copied without a change here.
 *
 * Values travel as Postgres' own text form (`col::text` out, a cast back in) — what `pg_dump`
 * does — so nothing passes through a JavaScript type on the way (the parameters are declared
 * `text`, so no driver serializes them by the column's type): timestamps keep their
 * microseconds, bytea its bytes, jsonb arrays stay JSON (pg would turn a JS array into a Postgres
 * array literal), int8 beyond 2^53 its digits, doubles their shortest exact digits.
 *
 * All writes happen in one transaction on the target, in foreign-key order; counts are compared
 * before it commits, so a failed copy leaves the target as it was (schema aside).
 */
export async function copyDatabase<S, T>(
  sourceDb: Kysely<S>,
  targetDb: Kysely<T>,
  opts: { batchRows?: number } = {},
): Promise<CopySummary> {
  // Both are read through the catalogs, never through their typed tables.
  const source = sourceDb as unknown as Kysely<unknown>;
  const target = targetDb as unknown as Kysely<unknown>;
  const batchRows = opts.batchRows ?? DEFAULT_COPY_BATCH_ROWS;
  const [sourceMigrations, targetMigrations] = await Promise.all([
    appliedMigrations(source),
    appliedMigrations(target),
  ]);
  if (sourceMigrations.join() !== targetMigrations.join()) {
    throw new CopyRefused(
      `The source and the target are on different schemas (${sourceMigrations.at(-1) ?? 'none'} ` +
        `vs ${targetMigrations.at(-1) ?? 'none'}): migrate both to the latest first`,
    );
  }

  return target.transaction().execute(async (tx) => {
    const sourceColumns = await columnsByTable(source);
    const targetColumns = await columnsByTable(tx);
    const tables = [...sourceColumns.keys()];
    assertSameColumns(sourceColumns, targetColumns);

    const occupied = await nonEmptyTables(tx, tables);
    if (occupied.length > 0) {
      throw new CopyRefused(
        `The target database already holds data (${occupied.join(', ')}): ` +
          'copy into a new, empty database (createdb …), never over an existing one',
      );
    }

    // The target's keys are the ones enforced, so its catalog decides the order.
    const order = foreignKeyOrder(tables, await foreignKeys(tx));
    for (const key of order.suspended) {
      await sql`alter table ${sql.id(key.table)} drop constraint ${sql.id(key.constraint)}`.execute(
        tx,
      );
    }

    // Triggers of our own (the chunk change log) would write rows the copy brings over anyway:
    // off while copying, inside this transaction; foreign-key checks (system triggers) stay on.
    for (const table of order.tables) {
      await sql`alter table ${sql.id(table)} disable trigger user`.execute(tx);
    }

    const copied: CopySummary['tables'] = [];
    const expected = new Map<string, number>();
    await source.transaction().execute(async (sx) => {
      // Text forms that every Postgres reads back the same, whatever the server's defaults.
      await sql`set local datestyle to iso, ymd`.execute(sx);
      await sql`set local intervalstyle to postgres`.execute(sx);
      await sql`set local extra_float_digits to 3`.execute(sx);
      await sql`set local bytea_output to hex`.execute(sx);
      for (const table of order.tables) {
        const columns = targetColumns.get(table)!;
        expected.set(table, await countRows(sx, table));
        const rows = await copyTable(sx, tx, table, columns, batchRows);
        copied.push({ name: table, rows });
      }
    });

    for (const key of order.suspended) {
      await sql`alter table ${sql.id(key.table)} add constraint ${sql.id(key.constraint)} ${sql.raw(key.definition)}`.execute(
        tx,
      );
    }

    for (const table of order.tables) {
      await sql`alter table ${sql.id(table)} enable trigger user`.execute(tx);
    }

    const sequences = await copySequences(source, tx);

    // The count check: what the target holds now is what the source held when it was read.
    for (const { name } of copied) {
      const count = await countRows(tx, name);
      if (count !== expected.get(name)) {
        throw new Error(
          `Table ${name}: the source has ${expected.get(name)} rows, the target ${count}; nothing was committed`,
        );
      }
    }
    return { tables: copied, sequences, suspended: order.suspended.map((k) => k.constraint) };
  });
}

async function appliedMigrations(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select name from kysely_migration order by name
  `.execute(db);
  return rows.map((r) => r.name);
}

/** The tables of the current schema (not Kysely's) and their writable columns, in order. */
async function columnsByTable(db: Kysely<unknown>): Promise<Map<string, Column[]>> {
  const { rows } = await sql<Column & { table: string }>`
    select c.relname as "table", a.attname as name,
           format_type(a.atttypid, a.atttypmod) as type, a.attidentity as identity
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema()
      and c.relkind in ('r', 'p') and not c.relispartition
      and a.attnum > 0 and not a.attisdropped
      and a.attgenerated = ''
    order by c.relname, a.attnum
  `.execute(db);
  const tables = new Map<string, Column[]>();
  for (const { table, ...column } of rows) {
    if (MIGRATION_TABLES.includes(table)) continue;
    tables.set(table, [...(tables.get(table) ?? []), column]);
  }
  return tables;
}

function assertSameColumns(source: Map<string, Column[]>, target: Map<string, Column[]>): void {
  const describe = (columns: Map<string, Column[]>) =>
    [...columns].map(([table, cols]) => `${table}(${cols.map((c) => c.name).join(',')})`);
  const mine = describe(source);
  const theirs = new Set(describe(target));
  const differing = [
    ...mine.filter((t) => !theirs.has(t)),
    ...[...theirs].filter((t) => !mine.includes(t)),
  ];
  if (differing.length > 0) {
    throw new CopyRefused(`The source and the target tables differ: ${differing.join('; ')}`);
  }
}

async function nonEmptyTables(db: Kysely<unknown>, tables: string[]): Promise<string[]> {
  const occupied: string[] = [];
  for (const table of tables) {
    const count = await countRows(db, table);
    if (count > 0) occupied.push(`${table}: ${count}`);
  }
  return occupied;
}

async function countRows(db: Kysely<unknown>, table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*)::text as n from ${sql.id(table)}
  `.execute(db);
  return Number(rows[0]!.n);
}

async function foreignKeys(
  db: Kysely<unknown>,
): Promise<(ForeignKeyEdge & { definition: string })[]> {
  const { rows } = await sql<ForeignKeyEdge & { definition: string }>`
    select con.conname as constraint, c.relname as "table", r.relname as "references",
           pg_get_constraintdef(con.oid) as definition
    from pg_constraint con
    join pg_class c on c.oid = con.conrelid
    join pg_class r on r.oid = con.confrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_namespace rn on rn.oid = r.relnamespace
    where con.contype = 'f' and n.nspname = current_schema() and rn.nspname = current_schema()
    order by con.conname
  `.execute(db);
  return rows;
}

/**
 * Reads the table through a cursor, `batchRows` rows at a time (fewer for wide tables), and
 * inserts each batch with one statement. Returns the rows copied.
 */
async function copyTable(
  from: Transaction<unknown>,
  to: Transaction<unknown>,
  table: string,
  columns: Column[],
  batchRows: number,
): Promise<number> {
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMETERS / columns.length)));
  const selected = columns.map((c, i) => sql`${sql.id(c.name)}::text as ${sql.id(`c${i}`)}`);
  await sql`declare personas_copy no scroll cursor for select ${sql.join(selected)} from ${sql.id(table)}`.execute(
    from,
  );
  // An identity column declared `generated always` takes a given value only when told to.
  const overriding = columns.some((c) => c.identity === 'a') ? sql`overriding system value` : sql``;
  let copied = 0;
  for (;;) {
    const { rows } = await sql<Record<string, string | null>>`
      fetch forward ${sql.lit(perBatch)} from personas_copy
    `.execute(from);
    if (rows.length === 0) break;
    const values: RawBuilder<unknown>[] = rows.map(
      (row) =>
        sql`(${sql.join(columns.map((c, i) => sql`cast(cast(${row[`c${i}`] ?? null} as text) as ${sql.raw(c.type)})`))})`,
    );
    await sql`
      insert into ${sql.id(table)} (${sql.join(columns.map((c) => sql.id(c.name)))})
      ${overriding} values ${sql.join(values)}
    `.execute(to);
    copied += rows.length;
    if (rows.length < perBatch) break;
  }
  await sql`close personas_copy`.execute(from);
  return copied;
}

/**
 * Sets each of the target's sequences where the source's stands, so the next bigserial or
 * identity value is the one the source would have given: never an id already copied, and never
 * one the source had handed out and deleted since. A sequence behind its column's largest value
 * (rows inserted with explicit ids) is moved past it.
 */
async function copySequences(
  source: Kysely<unknown>,
  target: Kysely<unknown>,
): Promise<CopySummary['sequences']> {
  const { rows: sequences } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'S' and n.nspname = current_schema()
    order by c.relname
  `.execute(source);
  const owners = new Map(
    (
      await sql<{ sequence: string; table: string; column: string }>`
        select s.relname as sequence, t.relname as "table", a.attname as column
        from pg_depend d
        join pg_class s on s.oid = d.objid
        join pg_class t on t.oid = d.refobjid
        join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
        join pg_namespace n on n.oid = s.relnamespace
        where s.relkind = 'S' and d.classid = 'pg_class'::regclass
          and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
          and n.nspname = current_schema()
      `.execute(target)
    ).rows.map((r) => [r.sequence, r]),
  );
  const summary: CopySummary['sequences'] = [];
  for (const { name } of sequences) {
    const { rows } = await sql<{ last_value: string; is_called: boolean }>`
      select last_value::text as last_value, is_called from ${sql.id(name)}
    `.execute(source);
    let lastValue = BigInt(rows[0]!.last_value);
    let isCalled = rows[0]!.is_called;
    const owner = owners.get(name);
    if (owner) {
      const { rows: max } = await sql<{ max: string | null }>`
        select max(${sql.id(owner.column)})::text as max from ${sql.id(owner.table)}
      `.execute(target);
      const largest = max[0]?.max == null ? null : BigInt(max[0].max);
      if (largest !== null && (largest > lastValue || (largest === lastValue && !isCalled))) {
        lastValue = largest;
        isCalled = true;
      }
    }
    await sql`
      select setval(${quoteIdent(name)}::regclass, ${lastValue.toString()}::bigint, ${isCalled})
    `.execute(target);
    summary.push({ name, next: (isCalled ? lastValue + 1n : lastValue).toString() });
  }
  return summary;
}

/** A name as a `regclass` literal reads it: double-quoted, inner quotes doubled. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
