// OpenSSH's own resolver as the referee: `ssh -G` prints what ssh would use for a name (it follows Include, Match and
// tokens exactly) without connecting anywhere. Run locally with execFile, no shell. When it disagrees with our reading
// on any keyword we use, the run refuses before connecting: the tool must reach what ssh reaches, or nothing.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseProxyJump } from './proxy-jump.js';
import { emptyResolution, resolveSshConfig, type ConfigFile, type ResolvedSshConfig, type ResolveInput } from './ssh-config.js';
import { expandPath, type TokenContext } from './ssh-config-expand.js';
import { assemblePubkeyAlgorithms } from './ssh-config-algorithms.js';
import type { ResolveContext, SshFlags, SshTargetSpec } from './target.js';

export type OpenSshCheck =
  | { status: 'agrees'; ssh: string; hops: number }
  | { status: 'differs'; ssh: string; differences: string[] }
  | { status: 'skipped'; reason: string };

/** The keys ssh -G printed, lowercased, each with every value it printed (IdentityFile repeats). */
export type OpenSshOptions = Map<string, string[]>;

/** Finds `ssh` on PATH, as a shell would. */
export function findSsh(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'ssh');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

export function parseSshG(stdout: string): OpenSshOptions {
  const options: OpenSshOptions = new Map();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    options.set(key, [...(options.get(key) ?? []), line.slice(space + 1)]);
  }
  return options;
}

/** `ssh -G` for one name; rejects with ssh's own message when ssh refuses the config. */
export function runSshG(ssh: string, args: { configFile?: string | undefined; user?: string | undefined; port?: number | undefined; host: string }, env: NodeJS.ProcessEnv): Promise<OpenSshOptions> {
  const argv = ['-G', ...(args.configFile !== undefined ? ['-F', args.configFile] : []), ...(args.user !== undefined ? ['-l', args.user] : []), ...(args.port !== undefined ? ['-p', String(args.port)] : []), '--', args.host];
  return new Promise((resolve, reject) => {
    execFile(ssh, argv, { env, timeout: 5000, maxBuffer: 1 << 20, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const said = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('Pseudo-terminal')).join('; ');
        reject(new Error(said || error.message));
      } else resolve(parseSshG(stdout));
    });
  });
}

// ssh's default IdentityFile list (readconf.c fill_default_options), printed by ssh -G when none is set.
const DEFAULT_IDENTITIES = /^~\/\.ssh\/id_(rsa|ecdsa|ecdsa_sk|ed25519|ed25519_sk|xmss|dsa)$/;

/** Compares one hop, key by key; returns each difference as a sentence. */
export function compareHop(label: string, ours: ResolvedSshConfig, theirs: OpenSshOptions, ctx: { home: string; localUser: string; env: NodeJS.ProcessEnv; localHost: string; uid: number }): string[] {
  const differences: string[] = [];
  const one = (key: string): string | undefined => theirs.get(key)?.[0];
  const differ = (keyword: string, mine: string | undefined, sshs: string | undefined): void => {
    if ((mine ?? '') !== (sshs ?? '')) differences.push(`${label}: ${keyword}: apply-ws-fix reads ${mine === undefined ? '(unset)' : JSON.stringify(mine)}, ssh -G says ${sshs === undefined ? '(unset)' : JSON.stringify(sshs)}`);
  };
  // A keyword with a default that this ssh does not print (another OpenSSH version) cannot be compared: only what it says.
  const differIfPrinted = (keyword: string, key: string, mine: string, sshs: string | undefined): void => {
    if (theirs.has(key)) differ(keyword, mine, sshs);
  };
  differ('HostName', ours.hostName?.value ?? ours.alias.toLowerCase(), one('hostname'));
  differ('User', ours.user?.value ?? ctx.localUser, one('user'));
  differ('Port', String(ours.port?.value ?? 22), one('port'));
  differ('ProxyJump', ours.proxyJump?.value, one('proxyjump'));
  // ssh -G prints ProxyCommand as written (9.2); accept it with its tokens expanded too.
  if (one('proxycommand') !== ours.proxyCommand?.value) differ('ProxyCommand', ours.proxyCommandText, one('proxycommand'));
  differ('HostKeyAlias', ours.hostKeyAlias?.value, one('hostkeyalias'));
  differIfPrinted('IdentitiesOnly', 'identitiesonly', ours.identitiesOnly?.value ? 'yes' : 'no', one('identitiesonly'));
  differIfPrinted('HashKnownHosts', 'hashknownhosts', ours.hashKnownHosts?.value ? 'yes' : 'no', one('hashknownhosts'));
  const strict = one('stricthostkeychecking');
  differIfPrinted('StrictHostKeyChecking', 'stricthostkeychecking', ours.strictHostKeyChecking?.value ?? 'ask', strict === 'true' ? 'yes' : strict === 'false' ? 'no' : strict);
  const agent = ours.identityAgent?.value;
  differ('IdentityAgent', agent, one('identityagent'));
  const knownHosts = ours.userKnownHostsFiles === undefined ? `${ctx.home}/.ssh/known_hosts ${ctx.home}/.ssh/known_hosts2` : ours.userKnownHostsFiles.value.length === 0 ? 'none' : ours.userKnownHostsFiles.value.join(' ');
  differIfPrinted('UserKnownHostsFile', 'userknownhostsfile', knownHosts, one('userknownhostsfile'));
  const global = ours.globalKnownHostsFiles === undefined ? '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2' : ours.globalKnownHostsFiles.value.length === 0 ? 'none' : ours.globalKnownHostsFiles.value.join(' ');
  differIfPrinted('GlobalKnownHostsFile', 'globalknownhostsfile', global, one('globalknownhostsfile'));
  differIfPrinted('Ciphers', 'ciphers', ours.algorithms.cipher.join(','), one('ciphers'));
  differIfPrinted('MACs', 'macs', ours.algorithms.hmac.join(','), one('macs'));
  differIfPrinted('KexAlgorithms', 'kexalgorithms', ours.algorithms.kex.join(','), one('kexalgorithms'));
  differIfPrinted('HostKeyAlgorithms', 'hostkeyalgorithms', ours.algorithms.serverHostKey.join(','), one('hostkeyalgorithms'));
  differIfPrinted('PubkeyAcceptedAlgorithms', 'pubkeyacceptedalgorithms', (ours.pubkeyAlgorithms?.value ?? assemblePubkeyAlgorithms(undefined)).join(','), one('pubkeyacceptedalgorithms'));

  // ssh -G prints IdentityFile and CertificateFile unexpanded: expand them with ssh's own host, port and user.
  const tokens: TokenContext = {
    host: one('hostname') ?? '',
    original: ours.alias,
    port: Number(one('port') ?? 22),
    remoteUser: one('user') ?? ctx.localUser,
    localUser: ctx.localUser,
    home: ctx.home,
    localHost: ctx.localHost,
    uid: ctx.uid,
    hostKeyAlias: one('hostkeyalias'),
  };
  const expand = (file: string): string => {
    try {
      return expandPath(file, tokens, ctx.env);
    } catch {
      return file;
    }
  };
  const theirFiles = (theirs.get('identityfile') ?? []).filter((file) => file.toLowerCase() !== 'none');
  if (ours.identityFiles.length === 0) {
    const extra = theirFiles.filter((file) => !DEFAULT_IDENTITIES.test(file));
    if (extra.length > 0) differ('IdentityFile', '(ssh\'s defaults)', extra.join(' '));
  } else {
    // Two spellings of one file are one key to us; ssh keeps both names but offers the key once.
    const expanded = [...new Set(theirFiles.map(expand))];
    differ('IdentityFile', ours.identityFiles.map((entry) => entry.value).join(' '), expanded.join(' '));
  }
  const theirCerts = [...new Set((theirs.get('certificatefile') ?? []).map(expand))];
  differ('CertificateFile', ours.certificateFiles.map((entry) => entry.value).join(' ') || undefined, theirCerts.join(' ') || undefined);
  return differences;
}

export interface CrossCheckInput {
  flags: SshFlags;
  target: SshTargetSpec;
  ctx: ResolveContext;
  files: readonly ConfigFile[];
  /** The ssh binary; undefined: look it up on PATH. */
  ssh?: string | undefined;
}

/** Asks ssh -G about the host and every bastion; `differs` lists every disagreement (the caller refuses). */
export async function crossCheckWithOpenSsh({ flags, target, ctx, files, ssh: given }: CrossCheckInput): Promise<OpenSshCheck> {
  const env = ctx.env ?? process.env;
  const ssh = given ?? findSsh(env);
  if (ssh === undefined) return { status: 'skipped', reason: 'OpenSSH\'s ssh is not installed; the config was read by apply-ws-fix alone' };
  let passwdHome: string | undefined;
  try {
    passwdHome = userInfo().homedir;
  } catch {
    passwdHome = undefined;
  }
  if (passwdHome !== ctx.home) {
    return { status: 'skipped', reason: `HOME (${ctx.home}) is not your home directory in the password database (${passwdHome ?? 'unknown'}), which is the one ssh reads` };
  }
  // ssh -G would run a Match exec command: never ask it when the config has one that it would reach.
  if (target.ssh.refusals.length > 0) return { status: 'skipped', reason: 'not asked: the config is refused already' };
  const hops: { label: string; input: ResolveInput }[] = [];
  const base = { home: ctx.home, localUser: ctx.localUser, env, localHost: ctx.localHost ?? 'localhost', uid: ctx.uid ?? 0 };
  hops.push({ label: `Host ${flags.host ?? target.ssh.alias ?? target.host}`, input: { ...base, alias: flags.host ?? target.ssh.alias ?? target.host, user: flags.user, port: flags.port } });
  for (const jump of target.ssh.jumps) {
    const spec = parseProxyJump(jump.label)[0];
    if (spec !== undefined) hops.push({ label: `jump host ${jump.label}`, input: { ...base, alias: spec.host, user: spec.user, port: spec.port } });
  }
  const differences: string[] = [];
  for (const hop of hops) {
    let theirs: OpenSshOptions;
    try {
      theirs = await runSshG(ssh, { configFile: flags.sshConfig, user: hop.input.user, port: hop.input.port, host: hop.input.alias }, env);
    } catch (error) {
      differences.push(`${hop.label}: ssh -G refuses this config: ${(error as Error).message}`);
      continue;
    }
    const ours = files.length > 0 ? resolveSshConfig(files, hop.input) : emptyResolution(hop.input.alias);
    differences.push(...compareHop(hop.label, ours, theirs, base));
  }
  return differences.length > 0 ? { status: 'differs', ssh, differences } : { status: 'agrees', ssh, hops: hops.length };
}
