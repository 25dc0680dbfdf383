import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: under Node's ESM loader only its default export carries utils.
const { utils } = ssh2;

export interface KeyMaterial {
  hostPrivate: string;      // OpenSSH PEM, given to the ssh2 Server
  hostPublic: string;       // "ssh-ed25519 AAAA..."
  clientPrivate: string;    // OpenSSH PEM, written to the client's key file
  clientPublic: string;     // "ssh-ed25519 AAAA..."
  hostKeyFingerprint: string;
}

// Fresh keys per host, so no test or demo ever trusts a key that outlives it.
export function generateKeys(): KeyMaterial {
  const host = soundKeyPair();
  const client = soundKeyPair();
  return {
    hostPrivate: host.private,
    hostPublic: host.public,
    clientPrivate: client.private,
    clientPublic: client.public,
    hostKeyFingerprint: fingerprintOf(host.public),
  };
}

// ssh2's keygen strips a public key's leading zero byte (mscdex/ssh2#1390, about 1 key in 256), which
// leaves a pair neither ssh2 nor OpenSSH can read: draw again until both halves parse and agree.
export function soundKeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 64; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (pub instanceof Error || priv instanceof Error || Array.isArray(pub) || Array.isArray(priv)) continue;
    const blob = pub.getPublicSSH();
    if (blob.length === 51 && blob.equals(priv.getPublicSSH())) return pair;
  }
  throw new Error('fake host: could not generate a readable ed25519 key pair');
}

// Same text as `ssh-keygen -lf`: SHA256 of the key blob, base64 without padding.
export function fingerprintOf(publicKey: string | Buffer): string {
  const blob = typeof publicKey === 'string' ? publicKeyBlob(publicKey) : publicKey;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

// The wire-format blob inside an "ssh-ed25519 AAAA..." line.
export function publicKeyBlob(publicKey: string): Buffer {
  const parsed = utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error('fake host: unparsable public key');
  return key.getPublicSSH();
}

// OpenSSH writes non-default ports as [host]:port in known_hosts.
export function knownHostsLine(host: string, port: number, hostPublic: string): string {
  const [type, data] = hostPublic.split(' ');
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type} ${data}`;
}
