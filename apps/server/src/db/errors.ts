function hasSqlState(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** Postgres' foreign_key_violation: the row a write refers to was deleted meanwhile. */
export function isForeignKeyViolation(error: unknown): boolean {
  return hasSqlState(error, '23503');
}

/** Postgres' unique_violation: another writer committed the same key first. */
export function isUniqueViolation(error: unknown): boolean {
  return hasSqlState(error, '23505');
}
