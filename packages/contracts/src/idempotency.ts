/**
 * The contract's `Idempotency-Key`: 1–255 visible ASCII characters. A creating POST sent again
 * under the same key by the same caller with the same body answers the first answer again.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: string): boolean {
  return VALID_KEY.test(key);
}

export const INVALID_IDEMPOTENCY_KEY = 'Idempotency-Key must be 1 to 255 visible ASCII characters';

/** One request under a key: who sent it, the key, and what it asked (route and parsed body). */
export interface IdempotencyClaim {
  /** `user:<id>`, or for register (no caller yet) the client address plus the email. */
  caller: string;
  key: string;
  /** The operation and its parsed JSON input; the server compares them canonicalised. */
  request: { operation: string; input: unknown };
}

/** What a claim found: the key is this request's to run, or a kept answer to send again. */
export type IdempotencyOutcome =
  | { state: 'claimed' }
  | { state: 'replay'; status: number; body: unknown };
