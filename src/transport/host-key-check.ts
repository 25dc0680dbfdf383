// The host key decision for one SSH hop: match → go on; unknown → refuse, or record it with --accept-new-host-key;
// changed, revoked, or known only by another key type → refuse loudly, whatever the flags say.
import { StartError, messageOf } from '../errors.js';
import { appendKnownHost, fingerprintSha256, hostLookupName, keyTypeOfBlob, knownHostsLineAs, knownKeyTypesAs, verifyHostKeyAs, type KnownHostsVerdict } from './known-hosts.js';

export interface KnownHostsPolicy {
  /** Every known_hosts file that exists, read once for the whole connection (user files first). */
  files: { path: string; text: string }[];
  /** Every file consulted, existing or not, for messages. */
  paths: readonly string[];
  /** The first user file: where an accepted key is recorded ('' with UserKnownHostsFile none: nowhere). */
  writeTo: string;
  acceptNew: boolean;
  /** HashKnownHosts: record under a hashed name. */
  hash?: boolean;
  /** What allowed recording, for the message: the flag, or the config line of StrictHostKeyChecking accept-new. */
  acceptNewSource?: string;
  /** Says out loud that a key was recorded. */
  notify: (line: string) => void;
}

/** One end of an SSH connection, as messages name it. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  /** 'the host' for the target, 'the jump host' for a bastion. */
  role: 'the host' | 'the jump host';
  /** HostKeyAlias: the known_hosts name instead of [host]:port. */
  hostKeyAlias?: string | undefined;
}

/** The name known_hosts is searched for: the HostKeyAlias as is (OpenSSH adds no port to it), else [host]:port. */
export function lookupNameOf(endpoint: Pick<Endpoint, 'host' | 'port' | 'hostKeyAlias'>): string {
  return endpoint.hostKeyAlias !== undefined ? endpoint.hostKeyAlias.toLowerCase() : hostLookupName(endpoint.host, endpoint.port);
}

/** What the verifier saw, for the error after ssh2 gives up. */
export interface HostKeyOutcome {
  verdict?: KnownHostsVerdict;
  /** Key types known_hosts holds for this host when the presented type is not among them. */
  otherTypes?: string[];
  /** Recording an accepted key failed. */
  recordError?: unknown;
  recorded?: boolean;
}

// OpenSSH prints key types as ED25519, ECDSA, RSA in its warnings.
function shortType(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  return type;
}

/** The ssh2 hostVerifier for one hop: decides, records when allowed, and keeps what it saw in `outcome`. */
export function hostKeyVerifier(endpoint: Endpoint, policy: KnownHostsPolicy, outcome: HostKeyOutcome): (key: Buffer, verify: (ok: boolean) => void) => void {
  return (blob, verify) => {
    let type: string;
    try {
      type = keyTypeOfBlob(blob);
    } catch (error) {
      outcome.recordError = error;
      verify(false);
      return;
    }
    const name = lookupNameOf(endpoint);
    let verdict = verifyHostKeyAs(policy.files, name, { type, blob });
    // OpenSSH 9.2 ("found matching key w/out port"): a host never seen as [host]:port whose very key is recorded
    // under its plain name is accepted. A different key there is not a "change": the host stays unknown.
    if (verdict.kind === 'unknown' && endpoint.hostKeyAlias === undefined && endpoint.port !== 22) {
      const portless = verifyHostKeyAs(policy.files, endpoint.host.toLowerCase(), { type, blob });
      if (portless.kind === 'match' || portless.kind === 'revoked') verdict = portless;
    }
    outcome.verdict = verdict;
    if (verdict.kind === 'match') return verify(true);
    if (verdict.kind !== 'unknown') return verify(false);
    const known = knownKeyTypesAs(policy.files, name);
    if (known.length > 0) {
      outcome.otherTypes = known;
      return verify(false);
    }
    if (!policy.acceptNew) return verify(false);
    // OpenSSH's accept-new: a host never seen before is recorded, and the operator is told.
    let line: string;
    try {
      if (policy.writeTo === '') throw new Error('UserKnownHostsFile is none: there is no file to record it in');
      line = knownHostsLineAs(name, { type, blob }, policy.hash === true);
    } catch (error) {
      outcome.recordError = error;
      return verify(false);
    }
    appendKnownHost(policy.writeTo, line).then(
      () => {
        outcome.recorded = true;
        policy.notify(`Warning: permanently added '${name}' (${shortType(type)} ${fingerprintSha256(blob)}) to ${policy.writeTo} (${policy.acceptNewSource ?? '--accept-new-host-key'}).`);
        verify(true);
      },
      (error: unknown) => {
        outcome.recordError = error;
        verify(false);
      },
    );
  };
}

/** The refusal for a host key that did not pass: what was seen, and what to do about it. */
export function hostKeyError(endpoint: Endpoint, policy: KnownHostsPolicy, outcome: HostKeyOutcome): StartError | undefined {
  const where = lookupNameOf(endpoint);
  const subject = `${endpoint.role === 'the host' ? 'the host key of' : 'the host key of the jump host'} ${where}`;
  const files = policy.paths.filter((path) => path !== '').join(', ') || 'any known_hosts file (UserKnownHostsFile none, no GlobalKnownHostsFile)';
  const { verdict } = outcome;
  if (outcome.recordError !== undefined) {
    return new StartError(`cannot check or record ${subject}: ${messageOf(outcome.recordError)}`, 'host-key-record', `Check that ${policy.writeTo} is writable, or record the key yourself.`, outcome.recordError);
  }
  if (verdict === undefined || verdict.kind === 'match') return undefined;
  const evenWithFlag = policy.acceptNew ? ' --accept-new-host-key does not change that: it records only hosts never seen before.' : '';
  switch (verdict.kind) {
    case 'unknown':
      if (outcome.otherTypes !== undefined) {
        return new StartError(
          `WARNING: ${subject} is known by its ${outcome.otherTypes.map(shortType).join('/')} key in ${files}, but it offered only another kind (${verdict.fingerprint}). Its keys may have changed, or someone may be intercepting the connection; nothing was done.${evenWithFlag}`,
          'host-key-changed',
          `Ask the host's owner which keys it has now; if it was really re-keyed, remove the old entry (ssh-keygen -R '${where}' -f ${policy.writeTo}) and check the new fingerprint.`,
        );
      }
      return new StartError(
        `${subject} is not in ${files} (${verdict.fingerprint})`,
        'host-key-unknown',
        policy.writeTo === ''
          ? `Check that fingerprint with the host's owner (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then record it in a known_hosts file your ssh config names, or pass --known-hosts FILE.`
          : `Check that fingerprint with the host's owner (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then rerun with --accept-new-host-key to record it in ${policy.writeTo} (ssh's StrictHostKeyChecking ask/yes is not asked here: nothing is recorded without that flag or StrictHostKeyChecking accept-new).`,
      );
    case 'mismatch':
      return new StartError(
        `WARNING: ${subject} has CHANGED (${verdict.fingerprint}; known: ${verdict.expected.map((e) => `${e.fingerprint} at ${e.file}:${e.line}`).join(', ')}). Someone may be intercepting the connection; nothing was done.${evenWithFlag}`,
        'host-key-changed',
        `If the host was really re-keyed, remove the old entry (ssh-keygen -R '${where}' -f ${verdict.expected[0]?.file ?? policy.writeTo}) and check the new fingerprint.`,
      );
    case 'revoked':
      return new StartError(
        `WARNING: ${subject} (${verdict.fingerprint}) is REVOKED (@revoked at ${verdict.file}:${verdict.line}); nothing was done.${evenWithFlag}`,
        'host-key-revoked',
        'Do not connect to this host until its key is replaced.',
      );
  }
}
