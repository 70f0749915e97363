import { hash, verify } from '@node-rs/argon2';

/** argon2id with the library's defaults (~40 ms a hash here): slow on purpose. */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash is a failed match, not a crash.
    return false;
  }
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the same time as a real verification when the email is unknown, so response timing does
 * not reveal which emails have accounts.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword('not-a-real-password-just-equal-timing');
  await verifyPassword(await dummyHash, password);
  return false;
}
