import { randomBytes } from 'node:crypto';
import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

/**
 * Bearer tokens as Lucia's session guide builds them: `<id>.<secret>`, where the id is a lookup key
 * and only SHA-256(secret) is stored, compared in constant time. The secret carries 160 random bits.
 * API keys share the scheme behind a recognisable prefix, so a leaked one is easy to spot and the
 * server knows which table to look in without trying both.
 */
export const API_KEY_PREFIX = 'pk_';

const ID_BYTES = 15; // 24 base32 characters
const SECRET_BYTES = 20; // 160 bits

export interface IssuedToken {
  id: string;
  /** The whole bearer token: give it to the caller once, never store it. */
  token: string;
  secretHash: Uint8Array;
}

export type ParsedToken = { kind: 'session' | 'api_key'; id: string; secret: string };

function randomBase32(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes));
}

export function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret));
}

export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const candidate = hashSecret(secret);
  return (
    candidate.length === storedHash.length &&
    constantTimeEqual(candidate, new Uint8Array(storedHash))
  );
}

export function issueSessionToken(): IssuedToken {
  const id = randomBase32(ID_BYTES);
  const secret = randomBase32(SECRET_BYTES);
  return { id, token: `${id}.${secret}`, secretHash: hashSecret(secret) };
}

export function issueApiKey(): IssuedToken {
  const id = randomBase32(ID_BYTES);
  const secret = randomBase32(SECRET_BYTES);
  return { id, token: `${API_KEY_PREFIX}${id}.${secret}`, secretHash: hashSecret(secret) };
}

const TOKEN_PATTERN = /^([a-z2-7]{24})\.([a-z2-7]{32})$/;

/** Splits a bearer token into its parts; anything not shaped like ours is null (→ 401). */
export function parseToken(token: string): ParsedToken | null {
  const isApiKey = token.startsWith(API_KEY_PREFIX);
  const match = TOKEN_PATTERN.exec(isApiKey ? token.slice(API_KEY_PREFIX.length) : token);
  if (!match?.[1] || !match[2]) return null;
  return { kind: isApiKey ? 'api_key' : 'session', id: match[1], secret: match[2] };
}
