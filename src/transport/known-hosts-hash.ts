// Hashed known_hosts names (HashKnownHosts yes): |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
import { createHmac, randomBytes } from 'node:crypto';
import { decodeStrictBase64 } from './strict-base64.js';

const MAGIC = '|1|';
const SHA1_BYTES = 20;

// Hashing needs a fresh salt per line so that equal names give unequal lines; tests pass their own salt.
export function hashHostName(name: string, salt: Buffer = randomBytes(SHA1_BYTES)): string {
  const digest = createHmac('sha1', salt).update(name).digest();
  return `${MAGIC}${salt.toString('base64')}|${digest.toString('base64')}`;
}

// Recompute with the line's own salt and compare the whole field, as OpenSSH's host_hash() does.
export function matchesHashedName(field: string, name: string): boolean {
  if (!field.startsWith(MAGIC)) return false;
  const rest = field.slice(MAGIC.length);
  const bar = rest.indexOf('|');
  if (bar <= 0) return false;
  const salt = decodeStrictBase64(rest.slice(0, bar));
  if (salt === undefined || salt.length !== SHA1_BYTES) return false;
  return hashHostName(name, salt) === field;
}
