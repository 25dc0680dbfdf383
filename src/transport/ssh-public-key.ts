// What we read from an SSH public key blob (RFC 4253 wire format): its type name and its fingerprint.
import { createHash } from 'node:crypto';

const MAX_TYPE_LENGTH = 128;

// Operators compare fingerprints with `ssh-keygen -l` output, so the format must be byte-for-byte the same.
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

// The blob names its own type; trusting it (not the negotiated algorithm, e.g. rsa-sha2-512) keeps RSA keys comparable.
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) throw new Error(`not an SSH public key: ${blob.length} bytes, too short for a type name`);
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > MAX_TYPE_LENGTH || 4 + length > blob.length) {
    throw new Error(`not an SSH public key: bad type name length ${length}`);
  }
  const type = blob.toString('latin1', 4, 4 + length);
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('not an SSH public key: the type name is not printable ASCII');
  return type;
}
