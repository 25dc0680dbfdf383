// Where and as whom to connect, with OpenSSH's precedence: explicit flags first, then the ssh config (the user's
// ~/.ssh/config, then /etc/ssh/ssh_config, as ssh reads them), then the runbook's defaults (which stand where ssh's own
// built-in defaults would). Every hop (the host and each ProxyJump bastion) is resolved on its own, as the `ssh -W`
// that OpenSSH starts for a bastion would resolve it: its own keys, known_hosts files, HostKeyAlias and checking.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname as osHostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { isHostName, isUserName } from './names.js';
import { parseProxyJump, ProxyJumpError } from './proxy-jump.js';
import { describeSource, emptyResolution, parseSshConfig, resolveSshConfig, SshConfigError, type ConfigFile, type ResolvedSshConfig, type ResolveInput, type Source } from './ssh-config.js';
import { crossCheckWithOpenSsh, type OpenSshCheck } from './ssh-config-openssh.js';
import { forSsh2, type AlgorithmKind } from './ssh-config-algorithms.js';

/** The SSH flags as given: undefined means "not on the command line", so the config may fill it in. */
export interface SshFlags {
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  identity?: string | undefined;
  knownHosts?: string | undefined;
  /** A config file, `none`, or undefined for ~/.ssh/config and /etc/ssh/ssh_config (either may be missing). */
  sshConfig?: string | undefined;
  acceptNewHostKey?: boolean | undefined;
}

/** What one hop uses to authenticate and to check its host key. */
export interface HopKeys {
  /** IdentityFile entries, each once; empty: ssh's default key files. */
  identityFiles: string[];
  /** CertificateFile entries. */
  certificateFiles: string[];
  /** IdentitiesOnly: offer only these files' keys (the agent may sign for them), no other agent key. */
  identitiesOnly: boolean;
  /** IdentityAgent: `none` for no agent, a socket path; undefined: SSH_AUTH_SOCK. */
  identityAgent?: string | undefined;
  /** The first known_hosts file: checked first, and where an accepted key is recorded. Empty string: none. */
  knownHosts: string;
  /** The other known_hosts files: the rest of UserKnownHostsFile, then GlobalKnownHostsFile. */
  extraKnownHosts: string[];
  /** HostKeyAlias: the name looked up in known_hosts instead of [host]:port. */
  hostKeyAlias?: string | undefined;
  /** StrictHostKeyChecking accept-new (or --accept-new-host-key): record the key of a host never seen before. */
  acceptNewHostKey: boolean;
  /** What allowed it, for the message: `--accept-new-host-key`, or the config line. */
  acceptNewSource?: string | undefined;
  /** HashKnownHosts: record an accepted key under a hashed name. */
  hashKnownHosts: boolean;
  /** PubkeyAcceptedAlgorithms, when set: only keys of these algorithms are offered. */
  pubkeyAlgorithms?: string[] | undefined;
  /** What ssh2 may negotiate: ssh's lists (Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms, or its defaults) less what ssh2 lacks. */
  algorithms?: Record<AlgorithmKind, string[]> | undefined;
}

/** One bastion on the way to the host, resolved through the config like the host itself. */
export interface JumpHost extends HopKeys {
  /** The hop as ProxyJump wrote it, for messages. */
  label: string;
  host: string;
  port: number;
  user: string;
}

/** What the SSH transport needs beyond host, port, user, --identity and the known_hosts file it may write. */
export interface SshSettings extends Omit<HopKeys, 'knownHosts'> {
  /** Bastions, outermost first (ProxyJump). */
  jumps: JumpHost[];
  /** ProxyCommand of the outermost hop (tokens expanded): its stdin and stdout carry the first SSH connection. */
  proxyCommand?: { command: string; hop: string } | undefined;
  /** Why ssh would connect differently than this tool can (file, line, keyword); non-empty: refuse before connecting. */
  refusals: string[];
  /** What of the config is worth knowing, for a warning and --print-config. */
  notes: string[];
  /** The name given as --host when the config turned it into another HostName. */
  alias?: string;
  /** Where each value came from, for --print-config: `flag`, `ssh-config FILE line N`, `default`. */
  sources?: Record<string, string>;
  /** The ssh config files read, in order. */
  configFiles?: string[];
  /** Whether OpenSSH's own `ssh -G` agreed, or why it was not asked. */
  openssh?: OpenSshCheck | undefined;
}

export interface SshTargetSpec {
  host: string;
  port: number;
  user: string;
  identity: string | undefined;
  /** The first known_hosts file: checked first, and where an accepted key is recorded. */
  knownHosts: string;
  ssh: SshSettings;
}

export interface TargetDefaults {
  host: string;
  port: number;
  user: string;
}

export interface ResolveContext {
  home: string;
  /** ssh's default user when no User is set anywhere (for bastions, and for %r). */
  localUser: string;
  /** The main config file, for messages. */
  configFile: string;
  /** OpenSSH's GlobalKnownHostsFile default; replaceable for tests. */
  globalKnownHosts?: readonly string[];
  env?: NodeJS.ProcessEnv;
  localHost?: string;
  uid?: number;
}

export const GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'] as const;
export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';
/** More bastions than this is a ProxyJump loop, or a mistake. */
export const MAX_JUMPS = 8;

const CONFIG_REMEDY = 'Fix the ssh config, or pass --ssh-config none to connect without it.';

// A host or user name from the config is checked as strictly as the flag would be, and the message names the config.
function checked(kind: 'HostName' | 'User', value: string, where: string): string {
  const ok = kind === 'HostName' ? isHostName(value) : isUserName(value);
  if (!ok) throw new UsageError(`${where}: ${kind} ${JSON.stringify(value)} is not a ${kind === 'HostName' ? 'host name or address' : 'user name'}`, CONFIG_REMEDY);
  return value;
}

function inputOf(alias: string, ctx: ResolveContext, user?: string, port?: number): ResolveInput {
  return { alias, user, port, home: ctx.home, localUser: ctx.localUser, env: ctx.env ?? {}, localHost: ctx.localHost ?? 'localhost', uid: ctx.uid ?? 0 };
}

// Runs a config lookup, turning its syntax errors into usage errors that name the file and line.
function lookup(files: readonly ConfigFile[], input: ResolveInput): ResolvedSshConfig {
  if (files.length === 0) return emptyResolution(input.alias);
  try {
    return resolveSshConfig(files, input);
  } catch (error) {
    if (error instanceof SshConfigError) throw new UsageError(error.message, CONFIG_REMEDY);
    throw error;
  }
}

const sourceOf = (from: Source | undefined): string => (from === undefined ? 'default' : describeSource(from));

// The known_hosts files of one hop: --known-hosts alone; else UserKnownHostsFile (none: no user file) or
// ~/.ssh/known_hosts and known_hosts2, then GlobalKnownHostsFile or the system files.
function knownHostsOf(config: ResolvedSshConfig, flags: SshFlags, ctx: ResolveContext): { knownHosts: string; extraKnownHosts: string[] } {
  if (flags.knownHosts !== undefined) return { knownHosts: flags.knownHosts, extraKnownHosts: [] };
  const user = config.userKnownHostsFiles?.value ?? [join(ctx.home, '.ssh', 'known_hosts'), join(ctx.home, '.ssh', 'known_hosts2')];
  const global = config.globalKnownHostsFiles?.value ?? [...(ctx.globalKnownHosts ?? GLOBAL_KNOWN_HOSTS)];
  return { knownHosts: user[0] ?? '', extraKnownHosts: [...user.slice(1), ...global] };
}

// The settings of a hop that come from its own Host block (and the flags that apply to every hop).
function hopKeys(config: ResolvedSshConfig, flags: SshFlags, ctx: ResolveContext): HopKeys {
  const strict = config.strictHostKeyChecking?.value;
  return {
    identityFiles: config.identityFiles.map((entry) => entry.value),
    certificateFiles: config.certificateFiles.map((entry) => entry.value),
    identitiesOnly: config.identitiesOnly?.value ?? false,
    identityAgent: config.identityAgent?.value === 'SSH_AUTH_SOCK' ? undefined : config.identityAgent?.value,
    ...knownHostsOf(config, flags, ctx),
    hostKeyAlias: config.hostKeyAlias?.value,
    acceptNewHostKey: flags.acceptNewHostKey === true || strict === 'accept-new',
    acceptNewSource: flags.acceptNewHostKey === true ? '--accept-new-host-key' : strict === 'accept-new' ? `${sourceOf(config.strictHostKeyChecking?.from)}: StrictHostKeyChecking accept-new` : undefined,
    hashKnownHosts: config.hashKnownHosts?.value ?? false,
    pubkeyAlgorithms: config.pubkeyAlgorithms?.value,
    algorithms: {
      cipher: forSsh2('cipher', config.algorithms.cipher),
      hmac: forSsh2('hmac', config.algorithms.hmac),
      kex: forSsh2('kex', config.algorithms.kex),
      serverHostKey: forSsh2('serverHostKey', config.algorithms.serverHostKey),
    },
  };
}

interface Chain {
  jumps: JumpHost[];
  /** The outermost hop's ProxyCommand, if it has one. */
  proxyCommand?: { command: string; hop: string } | undefined;
}

// OpenSSH's ProxyJump: for `a,b` the last hop is the direct one and the earlier ones lead to it (ssh -J a b), overriding
// b's own ProxyJump or ProxyCommand; the first hop's own ProxyJump or ProxyCommand (from its Host block) still applies,
// so chains nest. Each hop is resolved with its user and port from the ProxyJump value as ssh -l / -p.
function jumpChain(value: string, from: string, files: readonly ConfigFile[], flags: SshFlags, ctx: ResolveContext, out: { refusals: string[]; notes: string[] }, depth: number): Chain {
  let specs;
  try {
    specs = parseProxyJump(value);
  } catch (error) {
    if (error instanceof ProxyJumpError) throw new UsageError(`${ctx.configFile}, Host ${from}: ${error.message}`, CONFIG_REMEDY);
    throw error;
  }
  const chain: Chain = { jumps: [] };
  specs.forEach((spec, index) => {
    const config = lookup(files, inputOf(spec.host, ctx, spec.user, spec.port));
    out.refusals.push(...config.refusals);
    out.notes.push(...config.notes);
    if (index === 0) {
      if (depth >= MAX_JUMPS) throw new UsageError(`${ctx.configFile}: ProxyJump leads through more than ${MAX_JUMPS} hosts (a loop through ${spec.host}?)`, CONFIG_REMEDY);
      if (config.proxyJump !== undefined) {
        const inner = jumpChain(config.proxyJump.value, spec.host, files, flags, ctx, out, depth + 1);
        chain.jumps.push(...inner.jumps);
        chain.proxyCommand = inner.proxyCommand;
      } else if (config.proxyCommand !== undefined) {
        chain.proxyCommand = { command: config.proxyCommand.value, hop: spec.text };
      }
    }
    const where = `${ctx.configFile}, Host ${spec.host}`;
    chain.jumps.push({
      label: spec.text,
      host: config.hostName !== undefined ? checked('HostName', config.hostName.value, where) : spec.host.toLowerCase(),
      port: config.port?.value ?? 22,
      user: config.user !== undefined ? checked('User', config.user.value, where) : checked('User', ctx.localUser, `${spec.text} (your local user name)`),
      ...hopKeys(config, flags, ctx),
    });
  });
  if (chain.jumps.length > MAX_JUMPS) throw new UsageError(`${ctx.configFile}: ProxyJump leads through ${chain.jumps.length} hosts, more than ${MAX_JUMPS}`, CONFIG_REMEDY);
  return chain;
}

/** Flags, then config files, then the runbook's defaults; pure, so table tests can pin OpenSSH's precedence. */
export function resolveTarget(flags: SshFlags, files: readonly ConfigFile[] | ConfigFile, defaults: TargetDefaults, ctx: ResolveContext): SshTargetSpec {
  const list = Array.isArray(files) ? files : [files as ConfigFile];
  const alias = flags.host ?? defaults.host;
  const config = lookup(list, inputOf(alias, ctx, flags.user, flags.port));
  const out = { refusals: [...config.refusals], notes: [...config.notes] };
  const where = `${ctx.configFile}, Host ${alias}`;
  const host = config.hostName !== undefined ? checked('HostName', config.hostName.value, where) : alias;
  const user = flags.user ?? (config.user !== undefined ? checked('User', config.user.value, where) : defaults.user);
  const port = flags.port ?? config.port?.value ?? defaults.port;
  const keys = hopKeys(config, flags, ctx);
  let chain: Chain = { jumps: [] };
  if (config.proxyJump !== undefined) chain = jumpChain(config.proxyJump.value, alias, list, flags, ctx, out, 0);
  else if (config.proxyCommand !== undefined) chain = { jumps: [], proxyCommand: { command: config.proxyCommand.value, hop: alias } };
  if (flags.knownHosts === undefined && keys.knownHosts === '') {
    out.notes.push(`UserKnownHostsFile none: no user known_hosts file${keys.acceptNewHostKey ? '; a new host key cannot be recorded' : ''}`);
  }
  const sources: Record<string, string> = {
    host: config.hostName !== undefined ? `${sourceOf(config.hostName.from)} (HostName of ${alias})` : flags.host !== undefined ? 'flag' : 'default',
    port: flags.port !== undefined ? 'flag' : config.port !== undefined ? sourceOf(config.port.from) : 'default',
    user: flags.user !== undefined ? 'flag' : config.user !== undefined ? sourceOf(config.user.from) : 'default',
    identity: flags.identity !== undefined ? 'flag' : config.identityFiles.length > 0 ? config.identityFiles.map((entry) => sourceOf(entry.from)).join(', ') : 'default',
    'known-hosts': flags.knownHosts !== undefined ? 'flag' : config.userKnownHostsFiles !== undefined ? sourceOf(config.userKnownHostsFiles.from) : 'default',
  };
  if (config.globalKnownHostsFiles !== undefined) sources['global-known-hosts'] = sourceOf(config.globalKnownHostsFiles.from);
  if (config.hostKeyAlias !== undefined) sources['host-key-alias'] = sourceOf(config.hostKeyAlias.from);
  if (config.identitiesOnly !== undefined) sources['identities-only'] = sourceOf(config.identitiesOnly.from);
  if (config.certificateFiles.length > 0) sources['certificates'] = config.certificateFiles.map((entry) => sourceOf(entry.from)).join(', ');
  if (config.proxyJump !== undefined) sources['jumps'] = sourceOf(config.proxyJump.from);
  if (config.proxyCommand !== undefined) sources['proxy-command'] = sourceOf(config.proxyCommand.from);
  if (config.strictHostKeyChecking !== undefined) sources['strict-host-key-checking'] = sourceOf(config.strictHostKeyChecking.from);
  if (flags.acceptNewHostKey === true) sources['strict-host-key-checking'] = 'flag';
  const { knownHosts, ...hostKeys } = keys;
  return {
    host,
    port,
    user,
    identity: flags.identity,
    knownHosts,
    ssh: {
      ...hostKeys,
      // --identity means that key alone, as ssh -i with IdentitiesOnly.
      identityFiles: flags.identity !== undefined ? [] : keys.identityFiles,
      jumps: chain.jumps,
      ...(chain.proxyCommand !== undefined ? { proxyCommand: chain.proxyCommand } : {}),
      refusals: [...new Set(out.refusals)],
      notes: [...new Set(out.notes)],
      sources,
      ...(host !== alias ? { alias } : {}),
    },
  };
}

// ssh's default user: the local login name.
function localUserName(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env['USER'] ?? env['LOGNAME'] ?? '';
  }
}

/** Which config files ssh would read: -F FILE alone, `none` for nothing, else the user's file and then the system's. */
export function configFilesFor(sshConfig: string | undefined, home: string): { path: string; system: boolean; explicit: boolean }[] {
  if (sshConfig === 'none') return [];
  if (sshConfig !== undefined) return [{ path: sshConfig, system: false, explicit: true }];
  return [
    { path: join(home, '.ssh', 'config'), system: false, explicit: false },
    { path: SYSTEM_SSH_CONFIG, system: true, explicit: false },
  ];
}

export interface LoadOptions {
  globalKnownHosts?: readonly string[];
  /** The system-wide config; tests point it elsewhere. */
  systemConfig?: string;
  /** `ssh` for the cross-check; false skips it (tests of our own reader alone). */
  ssh?: string | false;
}

/**
 * Reads the ssh config files (a missing default file is an empty one; a missing --ssh-config is an error), resolves
 * the target, and asks OpenSSH's own `ssh -G` (when installed, and when it would read the same files) whether it
 * agrees: any difference becomes a refusal.
 */
export async function loadTarget(flags: SshFlags, defaults: TargetDefaults, env: NodeJS.ProcessEnv, options: LoadOptions | readonly string[] = {}): Promise<SshTargetSpec> {
  const opts: LoadOptions = Array.isArray(options) ? { globalKnownHosts: options as readonly string[] } : (options as LoadOptions);
  const home = env['HOME'] ?? homedir();
  const uid = process.getuid?.() ?? 0;
  const wanted = configFilesFor(flags.sshConfig, home).map((file) => (file.system && opts.systemConfig !== undefined ? { ...file, path: opts.systemConfig } : file));
  const files: ConfigFile[] = [];
  for (const { path, system, explicit } of wanted) {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || explicit) {
        throw new UsageError(`cannot read the ssh config ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 'Check --ssh-config (or pass --ssh-config none).');
      }
    }
    if (text === undefined) continue;
    // ssh refuses its default user config when another user could have written it (-F files are not checked).
    if (!explicit && !system) {
      const stat = statSync(path);
      if ((stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
        throw new UsageError(`bad owner or permissions on ${path}: ssh refuses it too (it must be yours or root's, and writable by no one else)`, `chmod go-w ${path}`);
      }
    }
    try {
      files.push(parseSshConfig(text, path, { home, system, checkPermissions: true, uid }));
    } catch (error) {
      if (error instanceof SshConfigError) throw new UsageError(error.message, CONFIG_REMEDY);
      throw error;
    }
  }
  const ctx: ResolveContext = {
    home,
    localUser: localUserName(env),
    configFile: wanted[0]?.path ?? 'none',
    env,
    localHost: osHostname(),
    uid,
    ...(opts.globalKnownHosts ? { globalKnownHosts: opts.globalKnownHosts } : {}),
  };
  const target = resolveTarget(flags, files, defaults, ctx);
  target.ssh.configFiles = files.map((file) => file.path);
  if (opts.ssh !== false && flags.sshConfig !== 'none') {
    target.ssh.openssh = await crossCheckWithOpenSsh({ flags, target, ctx, files, ssh: opts.ssh });
    if (target.ssh.openssh.status === 'differs') target.ssh.refusals.push(...target.ssh.openssh.differences);
  }
  return target;
}
