import { createHash, randomBytes } from 'node:crypto';

/** Recognisable in logs, config files and secret scanners. */
export const TOKEN_PREFIX = 'ptk_';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 random bytes (256 bits) of secret, base64url-encoded after the prefix. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A public id with about 95 bits of randomness, in an alphabet that is safe in URLs. */
export function generateKeyId(): string {
  const bytes = randomBytes(16);
  let id = 'key_';
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}

/**
 * Tokens are stored only as their SHA-256. A fast hash is right here: the secret has 256 bits of
 * entropy, so there is nothing to brute-force, and lookups stay one indexed query.
 */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Prefix and last four characters, enough for a person to recognise a token. */
export function tokenHint(token: string): string {
  const prefix = token.startsWith(TOKEN_PREFIX) ? TOKEN_PREFIX : '';
  return `${prefix}…${token.slice(-4)}`;
}
