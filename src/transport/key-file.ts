// Private key files as ssh2 reads them, told apart the way an operator needs: readable, encrypted, wrong passphrase, not a key.
import ssh2, { type ParsedKey } from 'ssh2';

// ssh2 is CommonJS: under Node's ESM loader only its default export carries utils.
const { utils } = ssh2;

export type KeyParse =
  | { kind: 'key'; key: ParsedKey }
  /** Encrypted, and no passphrase was given. */
  | { kind: 'encrypted' }
  /** A passphrase was given and does not decrypt the key. */
  | { kind: 'wrong-passphrase' }
  | { kind: 'unreadable'; reason: string };

/** Parses a private key; the passphrase only ever goes to ssh2, never into a message. */
export function parsePrivateKey(text: string, passphrase?: string): KeyParse {
  const parsed = utils.parseKey(text, passphrase);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) return { kind: 'encrypted' };
    if (passphrase !== undefined && /bad passphrase|integrity check failed|decrypt/i.test(parsed.message)) return { kind: 'wrong-passphrase' };
    return { kind: 'unreadable', reason: parsed.message };
  }
  const key = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  if (key === undefined || !key.isPrivateKey()) return { kind: 'unreadable', reason: 'it holds no private key' };
  return { kind: 'key', key };
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/**
 * The public key blob of an OpenSSH-format private key, which the file keeps unencrypted ("openssh-key-v1": cipher, kdf,
 * kdf options, key count, then the public keys), so an encrypted key can be matched with the agent's keys unopened.
 */
export function publicBlobOfPrivateKey(text: string): Buffer | undefined {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (match === null) return undefined;
  const data = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  let at = MAGIC.length;
  const string = (): Buffer | undefined => {
    if (at + 4 > data.length) return undefined;
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) return undefined;
    const value = data.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  if (string() === undefined || string() === undefined || string() === undefined) return undefined;
  if (at + 4 > data.length || data.readUInt32BE(at) < 1) return undefined;
  at += 4;
  return string();
}

/** The blob of a public key line (`ssh-ed25519 AAAA… comment`), as in a `.pub` file. */
export function publicBlobOfLine(line: string): Buffer | undefined {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) return undefined;
  const key = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  return key?.getPublicSSH();
}
