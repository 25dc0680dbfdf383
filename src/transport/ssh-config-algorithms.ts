// Ciphers, MACs, KexAlgorithms and HostKeyAlgorithms as OpenSSH 9.2 assembles them (kex_assemble_names): a list
// replaces the default, `+list` appends to it, `-list` removes from it, `^list` puts in front of it, and names may be
// patterns. ssh2 then gets that list in that order, less what ssh2 cannot do: never an algorithm ssh would not use.
import { createRequire } from 'node:module';
import { matchGlob } from './host-patterns.js';

export type AlgorithmKind = 'cipher' | 'hmac' | 'kex' | 'serverHostKey';

/** The ssh_config keyword of each kind. */
export const ALGORITHM_KEYWORDS: Readonly<Record<AlgorithmKind, string>> = { cipher: 'ciphers', hmac: 'macs', kex: 'kexalgorithms', serverHostKey: 'hostkeyalgorithms' };

const list = (text: string): string[] => text.split(',');

/** OpenSSH 9.2's defaults, as `ssh -G` prints them. */
export const OPENSSH_DEFAULTS: Readonly<Record<AlgorithmKind, readonly string[]>> = {
  cipher: list('chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com'),
  hmac: list('umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1'),
  kex: list('sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256'),
  serverHostKey: list(
    'ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256',
  ),
};

/** Every name OpenSSH 9.2 knows (`ssh -Q cipher|mac|kex|HostKeyAlgorithms`): what patterns expand against. */
export const OPENSSH_ALL: Readonly<Record<AlgorithmKind, readonly string[]>> = {
  cipher: list('3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com'),
  hmac: list(
    'hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com',
  ),
  kex: list(
    'diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com',
  ),
  serverHostKey: list(
    'ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com',
  ),
};

/** What ssh2 can negotiate here (its SUPPORTED_* lists, which depend on this Node's crypto). Host certificates are left
 * out: the tool checks plain host keys only. */
export const SSH2_SUPPORTED: Readonly<Record<AlgorithmKind, readonly string[]>> = (() => {
  const constants = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as Record<string, readonly string[] | undefined>;
  const of = (name: string): readonly string[] => constants[name] ?? [];
  return { cipher: of('SUPPORTED_CIPHER'), hmac: of('SUPPORTED_MAC'), kex: of('SUPPORTED_KEX'), serverHostKey: of('SUPPORTED_SERVER_HOST_KEY').filter((name) => !name.includes('-cert-')) };
})();

const appendNew = (into: string[], names: readonly string[]): void => {
  for (const name of names) if (!into.includes(name)) into.push(name);
};

// Each pattern of the list, expanded against every known name (in OpenSSH's order), each name once.
function expand(patterns: readonly string[], all: readonly string[]): string[] {
  const out: string[] = [];
  for (const pattern of patterns) appendNew(out, all.filter((name) => matchGlob(pattern, name)));
  return out;
}

/** The list ssh would use for a config value (`a,b`, `+a`, `-a*`, `^a`); the default when unset. */
export function assembleAlgorithms(kind: AlgorithmKind, value: string | undefined): string[] {
  const defaults = OPENSSH_DEFAULTS[kind];
  const all = OPENSSH_ALL[kind];
  if (value === undefined || value === '') return [...defaults];
  const first = value[0];
  const names = list(value.slice(first === '+' || first === '-' || first === '^' ? 1 : 0));
  if (first === '-') return defaults.filter((name) => !names.some((pattern) => matchGlob(pattern, name)));
  const combined: string[] = [];
  if (first === '+') appendNew(combined, [...defaults, ...names]);
  else if (first === '^') appendNew(combined, [...names, ...defaults]);
  else appendNew(combined, names);
  return expand(combined, all);
}

/** ssh's list less what ssh2 cannot do, in ssh's order. */
export function forSsh2(kind: AlgorithmKind, assembled: readonly string[]): string[] {
  return assembled.filter((name) => SSH2_SUPPORTED[kind].includes(name));
}

/**
 * PubkeyAcceptedAlgorithms as ssh assembles it (its defaults and names are HostKeyAlgorithms'): which of our keys may be
 * offered at all. An RSA key goes as rsa-sha2-256 or -512 (ssh2 picks by the server's list), a certificate under its
 * own name (RSA ones as rsa-sha2-512-cert-v01@openssh.com).
 */
export function assemblePubkeyAlgorithms(value: string | undefined): string[] {
  return assembleAlgorithms('serverHostKey', value);
}

/** Whether a key of this type (as ssh2 names it, or a certificate algorithm) may be offered under that list. */
export function pubkeyAccepted(type: string, accepted: readonly string[] | undefined): boolean {
  if (accepted === undefined) return true;
  if (type === 'ssh-rsa') return accepted.includes('rsa-sha2-512') || accepted.includes('rsa-sha2-256');
  return accepted.includes(type);
}
