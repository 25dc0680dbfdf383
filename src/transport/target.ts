// Where and as whom to connect, with OpenSSH's precedence: explicit flags first, then ~/.ssh/config, then the
// runbook's defaults (which stand where ssh's own built-in defaults would).
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { isHostName, isUserName } from './names.js';
import { parseProxyJump, ProxyJumpError } from './proxy-jump.js';
import { parseSshConfig, resolveSshConfig, SshConfigError, type SshConfigBlock } from './ssh-config.js';

/** The SSH flags as given: undefined means "not on the command line", so the config may fill it in. */
export interface SshFlags {
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  identity?: string | undefined;
  knownHosts?: string | undefined;
  /** A config file, `none`, or undefined for ~/.ssh/config (which may be missing). */
  sshConfig?: string | undefined;
  acceptNewHostKey?: boolean | undefined;
}

/** One bastion on the way to the host, resolved through the config like the host itself. */
export interface JumpHost {
  /** The hop as ProxyJump wrote it, for messages. */
  label: string;
  host: string;
  port: number;
  user: string;
  /** The bastion's own IdentityFile entries; empty means "the same keys as for the host". */
  identityFiles: string[];
}

/** What the SSH transport needs beyond host, port, user, --identity and the known_hosts file it may write. */
export interface SshSettings {
  /** IdentityFile entries from the config, offered after the ssh-agent when --identity is not given. */
  identityFiles: string[];
  /** known_hosts files read after `knownHosts` and never written: known_hosts2, the global files, a config's extra files. */
  extraKnownHosts: string[];
  /** OpenSSH's StrictHostKeyChecking=accept-new: record the key of a host never seen before. */
  acceptNewHostKey: boolean;
  /** Bastions, outermost first (ProxyJump). */
  jumps: JumpHost[];
  /** What of the config was not applied (Match, Include, ProxyCommand), to warn about. */
  notes: string[];
  /** The name given as --host when the config turned it into another HostName. */
  alias?: string;
}

export interface SshTargetSpec {
  host: string;
  port: number;
  user: string;
  identity: string | undefined;
  /** The first known_hosts file: checked first, and where --accept-new-host-key records a key. */
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
  /** ssh's default user for a bastion with no User anywhere. */
  localUser: string;
  /** Where the blocks came from, for messages. */
  configFile: string;
  /** OpenSSH's GlobalKnownHostsFile default; replaceable for tests. */
  globalKnownHosts?: readonly string[];
}

export const GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'] as const;
/** More bastions than this is a ProxyJump loop, or a mistake. */
export const MAX_JUMPS = 8;

const CONFIG_REMEDY = 'Fix the ssh config, or pass --ssh-config none to connect without it.';

// A host or user name from the config is checked as strictly as the flag would be, and the message names the config.
function checked(kind: 'HostName' | 'User', value: string, where: string): string {
  const ok = kind === 'HostName' ? isHostName(value) : isUserName(value);
  if (!ok) throw new UsageError(`${where}: ${kind} ${JSON.stringify(value)} is not a ${kind === 'HostName' ? 'host name or address' : 'user name'}`, CONFIG_REMEDY);
  return value;
}

// Runs a config lookup, turning its errors into usage errors that name the file and line.
function lookup(blocks: SshConfigBlock[], alias: string, ctx: ResolveContext) {
  try {
    return resolveSshConfig(blocks, alias, ctx.home, ctx.localUser);
  } catch (error) {
    if (error instanceof SshConfigError) throw new UsageError(error.message, CONFIG_REMEDY);
    throw error;
  }
}

// OpenSSH's ProxyJump: for `a,b` the last hop is the direct one and the earlier ones lead to it, overriding b's own
// ProxyJump; the first hop's own ProxyJump (from its Host block) still applies, so chains nest.
function jumpChain(value: string | undefined, from: string, blocks: SshConfigBlock[], ctx: ResolveContext, notes: string[], depth: number): JumpHost[] {
  if (value === undefined) return [];
  let specs;
  try {
    specs = parseProxyJump(value);
  } catch (error) {
    if (error instanceof ProxyJumpError) throw new UsageError(`${ctx.configFile}, Host ${from}: ${error.message}`, CONFIG_REMEDY);
    throw error;
  }
  const chain: JumpHost[] = [];
  specs.forEach((spec, index) => {
    const config = lookup(blocks, spec.host, ctx);
    notes.push(...(config.notes ?? []));
    if (index === 0) {
      if (depth >= MAX_JUMPS) throw new UsageError(`${ctx.configFile}: ProxyJump leads through more than ${MAX_JUMPS} hosts (a loop through ${spec.host}?)`, CONFIG_REMEDY);
      chain.push(...jumpChain(config.proxyJump, spec.host, blocks, ctx, notes, depth + 1));
    }
    const where = `${ctx.configFile}, Host ${spec.host}`;
    chain.push({
      label: spec.text,
      host: config.hostName !== undefined ? checked('HostName', config.hostName, where) : spec.host,
      port: spec.port ?? config.port ?? 22,
      user: spec.user ?? (config.user !== undefined ? checked('User', config.user, where) : checked('User', ctx.localUser, `${spec.text} (your local user name)`)),
      identityFiles: config.identityFiles,
    });
  });
  if (chain.length > MAX_JUMPS) throw new UsageError(`${ctx.configFile}: ProxyJump leads through ${chain.length} hosts, more than ${MAX_JUMPS}`, CONFIG_REMEDY);
  return chain;
}

/** Flags, then config blocks, then the runbook's defaults; pure, so table tests can pin OpenSSH's precedence. */
export function resolveTarget(flags: SshFlags, blocks: SshConfigBlock[], defaults: TargetDefaults, ctx: ResolveContext): SshTargetSpec {
  const alias = flags.host ?? defaults.host;
  const config = lookup(blocks, alias, ctx);
  const notes = [...(config.notes ?? [])];
  const where = `${ctx.configFile}, Host ${alias}`;
  const host = config.hostName !== undefined ? checked('HostName', config.hostName, where) : alias;
  const user = flags.user ?? (config.user !== undefined ? checked('User', config.user, where) : defaults.user);
  const port = flags.port ?? config.port ?? defaults.port;

  // UserKnownHostsFile replaces ~/.ssh/known_hosts and known_hosts2; --known-hosts replaces every file, global ones too.
  let knownHosts: string;
  let extraKnownHosts: string[];
  if (flags.knownHosts !== undefined) {
    knownHosts = flags.knownHosts;
    extraKnownHosts = [];
  } else {
    const userFiles = config.userKnownHostsFiles.length > 0 ? config.userKnownHostsFiles : [join(ctx.home, '.ssh', 'known_hosts'), join(ctx.home, '.ssh', 'known_hosts2')];
    knownHosts = userFiles[0]!;
    extraKnownHosts = [...userFiles.slice(1), ...(ctx.globalKnownHosts ?? GLOBAL_KNOWN_HOSTS)];
  }
  const jumps = jumpChain(config.proxyJump, alias, blocks, ctx, notes, 0);
  return {
    host,
    port,
    user,
    identity: flags.identity,
    knownHosts,
    ssh: {
      identityFiles: flags.identity !== undefined ? [] : config.identityFiles,
      extraKnownHosts,
      acceptNewHostKey: flags.acceptNewHostKey ?? false,
      jumps,
      notes: [...new Set(notes)],
      ...(host !== alias ? { alias } : {}),
    },
  };
}

// ssh's default user for a bastion: the local login name.
function localUserName(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env['USER'] ?? env['LOGNAME'] ?? '';
  }
}

/** Reads the ssh config (a missing ~/.ssh/config is an empty one; a missing --ssh-config is an error) and resolves. */
export async function loadTarget(flags: SshFlags, defaults: TargetDefaults, env: NodeJS.ProcessEnv, globalKnownHosts?: readonly string[]): Promise<SshTargetSpec> {
  const home = env['HOME'] ?? homedir();
  const explicit = flags.sshConfig !== undefined;
  const configFile = flags.sshConfig ?? join(home, '.ssh', 'config');
  let blocks: SshConfigBlock[] = [];
  if (configFile !== 'none') {
    let text: string | undefined;
    try {
      text = await readFile(configFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || explicit) {
        throw new UsageError(`cannot read the ssh config ${configFile}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 'Check --ssh-config (or pass --ssh-config none).');
      }
    }
    if (text !== undefined) {
      try {
        blocks = parseSshConfig(text, configFile);
      } catch (error) {
        if (error instanceof SshConfigError) throw new UsageError(error.message, CONFIG_REMEDY);
        throw error;
      }
    }
  }
  return resolveTarget(flags, blocks, defaults, { home, localUser: localUserName(env), configFile, ...(globalKnownHosts ? { globalKnownHosts } : {}) });
}
