// known_hosts lines as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" defines them, parsed the way OpenSSH's hostfile.c reads them.
import { matchesHashedName } from './known-hosts-hash.js';
import { matchPatternList } from './host-patterns.js';
import { keyTypeOfBlob } from './ssh-public-key.js';
import { decodeStrictBase64 } from './strict-base64.js';

export type KnownHostsMarker = 'none' | 'revoked' | 'cert-authority';

export interface KnownHostsEntry {
  file: string;
  /** 1-based, as ssh-keygen -F and OpenSSH's warnings count. */
  line: number;
  marker: KnownHostsMarker;
  /** The host field as written: a comma list of patterns, or one hashed name. */
  hosts: string;
  type: string;
  blob: Buffer;
}

const MARKERS: Record<string, KnownHostsMarker> = { '@revoked': 'revoked', '@cert-authority': 'cert-authority' };

// Splits off the next space- or tab-delimited field, as hostfile.c's pointer walk does.
function nextField(text: string): [field: string, rest: string] {
  const trimmed = text.replace(/^[ \t]+/, '');
  const end = trimmed.search(/[ \t]/);
  return end < 0 ? [trimmed, ''] : [trimmed.slice(0, end), trimmed.slice(end)];
}

// One line to an entry, or undefined for comments, blanks and anything malformed (skipped, never fatal, like OpenSSH).
function parseLine(raw: string, file: string, line: number): KnownHostsEntry | undefined {
  let [first, rest] = nextField(raw.replace(/\r$/, ''));
  if (first === '' || first.startsWith('#')) return undefined;
  let marker: KnownHostsMarker = 'none';
  if (first.startsWith('@')) {
    const known = MARKERS[first];
    if (known === undefined) return undefined;
    marker = known;
    [first, rest] = nextField(rest);
    // A second marker, or a marker with nothing after it, makes the line invalid.
    if (first === '' || first.startsWith('@')) return undefined;
  }
  const [type, afterType] = nextField(rest);
  const [base64] = nextField(afterType);
  if (type === '' || type.startsWith('#') || base64 === '') return undefined;
  const blob = decodeStrictBase64(base64);
  if (blob === undefined) return undefined;
  try {
    // A line whose declared type disagrees with its key is corrupt; OpenSSH's sshkey_read refuses it too.
    if (keyTypeOfBlob(blob) !== type) return undefined;
  } catch {
    return undefined;
  }
  return { file, line, marker, hosts: first, type, blob };
}

// Every usable line of one file, in file order.
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const entry = parseLine(raw, file, index + 1);
    if (entry !== undefined) entries.push(entry);
  });
  return entries;
}

// OpenSSH's match_hostname lowercases both sides; hashed names are compared as hashed, whole.
export function entryMatchesHost(entry: KnownHostsEntry, lookupName: string): boolean {
  const name = lookupName.toLowerCase();
  if (entry.hosts.startsWith('|')) return matchesHashedName(entry.hosts, name);
  return matchPatternList(entry.hosts.toLowerCase().split(','), name) === 'match';
}
