import { createHash } from 'node:crypto';

/** JSON with every object's keys sorted, so two spellings of one parsed body compare equal. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What "the same request" means under a key: the same operation with the same parsed body. */
export function requestHash(request: { operation: string; input: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson({ operation: request.operation, input: request.input }))
    .digest('hex');
}
