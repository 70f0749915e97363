/** Postgres' foreign_key_violation: the row a write refers to was deleted meanwhile. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503'
  );
}
