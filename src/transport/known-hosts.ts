// Host key verification against known_hosts, as OpenSSH does it (with CheckHostIP off): ssh2 itself accepts any key.
import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { entryMatchesHost, parseKnownHosts, type KnownHostsEntry } from './known-hosts-entries.js';
import { hashHostName } from './known-hosts-hash.js';
import { fingerprintSha256, keyTypeOfBlob } from './ssh-public-key.js';

// Kept importable from here: this file is the module's agreed API; the code lives with the key-blob reader.
export { fingerprintSha256, keyTypeOfBlob };

/** blob is the raw SSH wire-format public key, what ssh2's hostVerifier gets when hostHash is unset. */
export interface HostKey {
  type: string;
  blob: Buffer;
}

export type KnownHostsVerdict =
  | { kind: 'match'; line: number; file: string }
  /** No entry for this host with this key type. */
  | { kind: 'unknown'; fingerprint: string }
  /** The host is known with another key of the same type: refuse loudly. */
  | { kind: 'mismatch'; fingerprint: string; expected: { type: string; fingerprint: string; file: string; line: number }[] }
  | { kind: 'revoked'; fingerprint: string; file: string; line: number };

// OpenSSH writes and looks up `host` for port 22 and `[host]:port` otherwise, lowercased (ssh lowercases host names).
export function hostLookupName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

// Compares the blob, not the negotiated algorithm name, so rsa-sha2-512 and ssh-rsa are the same RSA key.
function sameKey(entry: KnownHostsEntry, type: string, blob: Buffer): boolean {
  return entry.type === type && entry.blob.equals(blob);
}

/**
 * Judges a presented host key against the given files' text, in order (user files first, as OpenSSH loads them).
 *
 * - `@revoked` lines whose host patterns match and whose key equals the presented one refuse it, even when
 *   another line accepts it (OpenSSH checks revocation after a match). As in OpenSSH, a revocation applies only
 *   to the hosts its line names; write `@revoked * <key>` to revoke a key everywhere.
 * - `@cert-authority` lines are ignored: we verify plain keys only, never certificates.
 * - Key types: OpenSSH's check_hostkeys_by_key_or_type reports any differing key as "changed", while its client
 *   asks again ("keys of different type are already known for this host") when only other types are known. We take
 *   the reading that refuses only on evidence: `mismatch` when a line of the SAME key type (e.g. ssh-ed25519, or
 *   the same ECDSA curve) names another key; `unknown` when the host is known only under other types. An unknown
 *   key is still refused by the caller, so this never trusts a key; it only chooses which refusal to show.
 */
export function verifyHostKey(files: { path: string; text: string }[], host: string, port: number, key: HostKey): KnownHostsVerdict {
  return verifyHostKeyAs(files, hostLookupName(host, port), key);
}

/** verifyHostKey under a given known_hosts name: `[host]:port`, or a HostKeyAlias (which OpenSSH uses as is, without the port). */
export function verifyHostKeyAs(files: { path: string; text: string }[], name: string, key: HostKey): KnownHostsVerdict {
  const type = keyTypeOfBlob(key.blob);
  const fingerprint = fingerprintSha256(key.blob);
  const entries = files.flatMap((file) => parseKnownHosts(file.text, file.path)).filter((entry) => entryMatchesHost(entry, name));
  const revoked = entries.find((entry) => entry.marker === 'revoked' && sameKey(entry, type, key.blob));
  if (revoked !== undefined) return { kind: 'revoked', fingerprint, file: revoked.file, line: revoked.line };
  const plain = entries.filter((entry) => entry.marker === 'none');
  const match = plain.find((entry) => sameKey(entry, type, key.blob));
  if (match !== undefined) return { kind: 'match', file: match.file, line: match.line };
  const sameType = plain.filter((entry) => entry.type === type);
  if (sameType.length === 0) return { kind: 'unknown', fingerprint };
  const expected = sameType.map((entry) => ({ type: entry.type, fingerprint: fingerprintSha256(entry.blob), file: entry.file, line: entry.line }));
  return { kind: 'mismatch', fingerprint, expected };
}

/** The key types known_hosts holds for the host (revoked keys left out), in file order: the ones to ask the server for first. */
export function knownKeyTypes(files: { path: string; text: string }[], host: string, port: number): string[] {
  return knownKeyTypesAs(files, hostLookupName(host, port));
}

/** knownKeyTypes under a given known_hosts name. */
export function knownKeyTypesAs(files: { path: string; text: string }[], name: string): string[] {
  const entries = files.flatMap((file) => parseKnownHosts(file.text, file.path)).filter((entry) => entry.marker === 'none' && entryMatchesHost(entry, name));
  return [...new Set(entries.map((entry) => entry.type))];
}

// The line OpenSSH's StrictHostKeyChecking=accept-new appends when HashKnownHosts is off. A host name that known_hosts
// would read as patterns (`*`, `a,b`, `!x`) or as another field is refused: it would trust the key for other hosts.
export function knownHostsLine(host: string, port: number, key: HostKey): string {
  if (host === '' || /[\s,*?!|#@[\]]/.test(host)) throw new Error(`cannot record a host key for ${JSON.stringify(host)}: not a plain host name or address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`cannot record a host key for port ${port}`);
  return `${hostLookupName(host, port)} ${keyTypeOfBlob(key.blob)} ${key.blob.toString('base64')}`;
}

/**
 * The line for a known_hosts name as the hop looks it up (`[host]:port`, or a HostKeyAlias), hashed (`|1|…`) when
 * HashKnownHosts is on, as ssh would write it.
 */
export function knownHostsLineAs(name: string, key: HostKey, hash: boolean): string {
  const plain = /^\[([^\]]*)\]:([0-9]+)$/.exec(name);
  const line = plain !== null ? knownHostsLine(plain[1]!, Number(plain[2]), key) : knownHostsLine(name, 22, key);
  if (!hash) return line;
  return `${hashHostName(name.toLowerCase())} ${line.slice(line.indexOf(' ') + 1)}`;
}

// Reads every file that exists; a missing file is an empty one, but an unreadable one must not pass silently.
export async function readKnownHostsFiles(paths: string[]): Promise<{ path: string; text: string }[]> {
  const files: { path: string; text: string }[] = [];
  for (const path of paths) {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return files;
}

// Appends only: existing lines are never rewritten, and a last line without its newline gets one first.
export async function appendKnownHost(path: string, line: string): Promise<void> {
  if (/[\r\n]/.test(line)) throw new Error('a known_hosts line must not contain a line break');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
  try {
    const { size } = await file.stat();
    let separator = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await file.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) separator = '\n';
    }
    await file.appendFile(`${separator}${line}\n`, 'utf8');
  } finally {
    await file.close();
  }
}
