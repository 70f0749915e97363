/** A foreign key: rows of `table` point at rows of `references`. */
export interface ForeignKeyEdge {
  constraint: string;
  table: string;
  references: string;
}

export interface CopyOrder<E extends ForeignKeyEdge = ForeignKeyEdge> {
  /** Every table, each after the tables its foreign keys point at. */
  tables: string[];
  /**
   * Foreign keys no order satisfies — a table pointing at itself, or tables pointing at each
   * other in a cycle. A copy drops these for its duration and adds them back at the end, which
   * checks every copied row against them.
   */
  suspended: E[];
}

/**
 * The order to fill tables in so that each row's foreign keys already have their target rows:
 * a topological sort (Kahn's), alphabetical among tables that are free at the same time so the
 * order is stable. A cycle does not stop it: its keys are suspended and the sort goes on.
 */
export function foreignKeyOrder<E extends ForeignKeyEdge>(
  tables: readonly string[],
  edges: readonly E[],
): CopyOrder<E> {
  const remaining = new Set(tables);
  // Keys to tables outside the list (another schema, an excluded table) constrain nothing here.
  let pending = edges.filter((e) => remaining.has(e.table) && remaining.has(e.references));
  const suspended: E[] = pending.filter((e) => e.table === e.references);
  pending = pending.filter((e) => e.table !== e.references);
  const order: string[] = [];
  while (remaining.size > 0) {
    const free = [...remaining]
      .filter((t) => !pending.some((e) => e.table === t && remaining.has(e.references)))
      .sort();
    if (free.length > 0) {
      for (const table of free) {
        order.push(table);
        remaining.delete(table);
      }
      continue;
    }
    // Every table left waits on another one left: suspend the keys that close a cycle (their
    // target reaches back to their table), and the tables they held go free.
    const left = pending.filter((e) => remaining.has(e.table) && remaining.has(e.references));
    const cyclic = left.filter((e) => reaches(left, e.references, e.table));
    suspended.push(...cyclic);
    pending = pending.filter((e) => !cyclic.includes(e));
  }
  return { tables: order, suspended };
}

/** Whether `from` reaches `to` by following keys (table → the table it references). */
function reaches(edges: readonly ForeignKeyEdge[], from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const table = stack.pop()!;
    if (table === to) return true;
    if (seen.has(table)) continue;
    seen.add(table);
    for (const e of edges) if (e.table === table) stack.push(e.references);
  }
  return false;
}
