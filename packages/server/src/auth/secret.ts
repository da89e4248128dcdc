// Session ids, CSRF values and API token secrets: random, high-entropy, and stored only as SHA-256.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'opsb_';

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function newTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomSecret()}`;
}

/** A fast hash is enough for 256-bit random secrets (no dictionary to guess from). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
