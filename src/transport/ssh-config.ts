// ~/.ssh/config (and /etc/ssh/ssh_config) read the way OpenSSH 9's readconf.c reads them: Include followed (also
// inside Host and Match blocks), Match host/originalhost/user/localuser/all evaluated, first value obtained wins,
// IdentityFile and CertificateFile accumulate (each once), tokens expanded with the effective user and port.
// What we cannot do as ssh does is not guessed: it becomes a refusal naming the file, line and keyword.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { matchPatternList } from './host-patterns.js';
import { expandPath, expandTilde, expandTokens, proxyCommandTokens, type TokenContext } from './ssh-config-expand.js';
import { ALGORITHM_KEYWORDS, assembleAlgorithms, assemblePubkeyAlgorithms, forSsh2, OPENSSH_ALL, type AlgorithmKind } from './ssh-config-algorithms.js';
import { KEYWORDS, spelling } from './ssh-config-keywords.js';
import { splitConfigLine, type SshConfigLine } from './ssh-config-line.js';

/** A config line we cannot read at all (ssh refuses it too), named by file and line: a usage error. */
export class SshConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file} line ${line}: ${problem}`);
    this.name = 'SshConfigError';
  }
}

export interface Origin {
  file: string;
  line: number;
}

export type MatchCriterion =
  | { attribute: 'all' | 'canonical' | 'final'; negate: boolean }
  | { attribute: 'host' | 'originalhost' | 'user' | 'localuser' | 'exec'; negate: boolean; value: string };

export type ConfigLine =
  | { kind: 'host'; patterns: string[]; at: Origin }
  | { kind: 'match'; criteria: MatchCriterion[]; at: Origin }
  | { kind: 'include'; patterns: string[]; files: ConfigFile[]; at: Origin }
  | { kind: 'option'; keyword: string; args: string[]; rest: string; at: Origin };

export interface ConfigFile {
  path: string;
  lines: ConfigLine[];
}

/** How included files are found: relative names are under ~/.ssh for the user's config, /etc/ssh for the system's. */
export interface LoadContext {
  home: string;
  system: boolean;
  /** The file's text, or undefined when it does not exist. */
  read?: (path: string) => string | undefined;
  /** Paths matching a glob pattern, sorted; the default reads the file system. */
  glob?: (pattern: string) => string[];
  /** OpenSSH's "Bad owner or permissions" check for included files (off in tests that use no real files). */
  checkPermissions?: boolean;
  uid?: number;
}

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;

// OpenSSH's a2port(): decimal digits only, 1..65535.
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

const MULTI_ARG = new Set(['host', 'match', 'include', 'userknownhostsfile', 'globalknownhostsfile', 'ignoreunknown', 'proxycommand', 'remotecommand', 'localcommand', 'sendenv', 'setenv', 'canonicaldomains', 'canonicalizepermittedcnames', 'ipqos', 'localforward', 'remoteforward', 'permitremoteopen', 'channeltimeout', 'logverbose', 'rekeylimit', 'tag']);
const YES_NO = ['yes', 'no', 'true', 'false'];
const CHOICES: Record<string, readonly string[]> = {
  identitiesonly: YES_NO,
  hashknownhosts: YES_NO,
  stricthostkeychecking: [...YES_NO, 'off', 'ask', 'accept-new'],
};

// Refuses, at parse time and in every block as OpenSSH does, the values we would otherwise misread.
function checkOption(keyword: string, args: string[], at: Origin): void {
  const name = spelling(keyword);
  const fail = (problem: string): never => {
    throw new SshConfigError(at.file, at.line, problem);
  };
  if (args.length === 0) fail(`${name} needs a value`);
  if (KEYWORDS[keyword]?.use !== 'read') return;
  if (args.some((arg) => arg === '')) fail(`${name} has an empty value`);
  if (!MULTI_ARG.has(keyword) && args.length > 1) fail(`${name} takes one value (put quotes around a value with spaces)`);
  if (keyword === 'port' && parsePort(args[0]!) === undefined) fail(`Port "${args[0]}" is not a number from 1 to 65535`);
  if ((keyword === 'userknownhostsfile' || keyword === 'globalknownhostsfile') && args.length > 1 && args.some((arg) => arg.toLowerCase() === 'none')) {
    fail(`${name} "none" must stand alone`);
  }
  // ciphers_valid(), mac_valid(), kex_names_valid(): names ssh knows, patterns only after `-` (HostKeyAlgorithms allows them).
  const kind = (Object.entries(ALGORITHM_KEYWORDS) as [AlgorithmKind, string][]).find(([, name]) => name === keyword)?.[0];
  if (kind !== undefined && kind !== 'serverHostKey' && !args[0]!.startsWith('-')) {
    const names = args[0]!.replace(/^[+^]/, '').split(',');
    const bad = names.find((name) => !OPENSSH_ALL[kind].includes(name));
    if (bad !== undefined) fail(`${name} "${bad}" is not an algorithm OpenSSH knows (ssh refuses it too)`);
  }
  const choices = CHOICES[keyword];
  if (choices !== undefined && !choices.includes(args[0]!.toLowerCase())) fail(`${name} "${args[0]}" is not one of ${choices.join(', ')}`);
}

// The criteria of a Match line, checked as match_cfg_line() checks them.
function parseMatch(args: string[], at: Origin): MatchCriterion[] {
  const criteria: MatchCriterion[] = [];
  const fail = (problem: string): never => {
    throw new SshConfigError(at.file, at.line, problem);
  };
  if (args.length === 0) fail('Match needs criteria');
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    const negate = word.startsWith('!');
    const attribute = (negate ? word.slice(1) : word).toLowerCase();
    if (attribute === 'all' || attribute === 'canonical' || attribute === 'final') {
      criteria.push({ attribute, negate });
      continue;
    }
    if (attribute !== 'host' && attribute !== 'originalhost' && attribute !== 'user' && attribute !== 'localuser' && attribute !== 'exec') {
      fail(`Match attribute "${word}" is not supported by OpenSSH 9.2 (host, originalhost, user, localuser, exec, all, canonical, final)`);
    }
    const value = args[++i];
    if (value === undefined || value === '') fail(`Match ${attribute} needs a value`);
    criteria.push({ attribute: attribute as 'host', negate, value: value! });
  }
  const all = criteria.filter((c) => c.attribute === 'all');
  if (all.length > 0 && criteria.some((c) => c.attribute !== 'all' && c.attribute !== 'canonical' && c.attribute !== 'final')) fail('Match "all" cannot be combined with other criteria');
  if (all.some((c) => c.negate)) fail('Match "!all" is not allowed');
  return criteria;
}

// A glob(3) component matcher: `*`, `?`, `[…]`; a leading dot must be matched literally.
function globComponent(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(name);
}

/** glob(3) over the file system: sorted matches, or nothing (ssh ignores an Include that matches nothing). */
export function globFiles(pattern: string): string[] {
  const parts = pattern.split('/').filter((part, index) => part !== '' || index === 0);
  let paths = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) if (globComponent(part, name)) next.push(join(base, name));
    }
    paths = next;
  }
  return paths.filter((path) => {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  }).sort();
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// ssh refuses an included config that another user could have written.
function checkOwner(path: string, at: Origin, uid: number): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return;
  }
  if ((stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new SshConfigError(at.file, at.line, `Include: bad owner or permissions on ${path} (ssh refuses it too: it must be yours or root's, and writable by no one else)`);
  }
}

/**
 * Splits a config file into lines, following Include at once (glob, `~`, relative names under ~/.ssh or /etc/ssh,
 * as ssh does; ssh reads included files even inside blocks that do not apply). Syntax errors throw SshConfigError.
 */
export function parseSshConfig(text: string, file = 'ssh config', context: LoadContext = { home: '/nonexistent', system: false }, depth = 0): ConfigFile {
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const at = { file, line: index + 1 };
    let parsed: SshConfigLine | undefined;
    try {
      parsed = splitConfigLine(raw);
    } catch (error) {
      throw new SshConfigError(file, at.line, (error as Error).message);
    }
    if (parsed === undefined) return;
    const { keyword, args, rest } = parsed;
    if (keyword === 'host') {
      if (args.length === 0) throw new SshConfigError(file, at.line, 'Host needs a pattern');
      if (args.some((arg) => arg === '')) throw new SshConfigError(file, at.line, 'Host has an empty pattern');
      lines.push({ kind: 'host', patterns: args, at });
    } else if (keyword === 'match') {
      lines.push({ kind: 'match', criteria: parseMatch(args, at), at });
    } else if (keyword === 'include') {
      if (args.length === 0) throw new SshConfigError(file, at.line, 'Include needs a file name');
      if (depth >= MAX_INCLUDE_DEPTH) throw new SshConfigError(file, at.line, `Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
      const files: ConfigFile[] = [];
      for (const arg of args) {
        const tilde = expandTilde(arg, context.home);
        const pattern = isAbsolute(tilde) ? tilde : join(context.system ? '/etc/ssh' : join(context.home, '.ssh'), tilde);
        for (const path of (context.glob ?? globFiles)(pattern)) {
          if (context.checkPermissions) checkOwner(path, at, context.uid ?? process.getuid?.() ?? 0);
          let included: string | undefined;
          try {
            included = (context.read ?? readText)(path);
          } catch (error) {
            throw new SshConfigError(file, at.line, `Include: cannot read ${path}: ${(error as Error).message}`);
          }
          if (included !== undefined) files.push(parseSshConfig(included, path, context, depth + 1));
        }
      }
      lines.push({ kind: 'include', patterns: args, files, at });
    } else {
      checkOption(keyword, args, at);
      lines.push({ kind: 'option', keyword, args, rest, at });
    }
  });
  return { path: file, lines };
}

/** Where a value came from: a config line, or a flag of ours (the equivalent of ssh -l / -p). */
export type Source = Origin | 'flag';

export interface Sourced<T> {
  value: T;
  from: Source;
}

export function describeSource(from: Source): string {
  return from === 'flag' ? 'flag' : `ssh-config ${from.file} line ${from.line}`;
}

export type StrictHostKeyChecking = 'yes' | 'ask' | 'accept-new' | 'no';

/** What ssh would use for one name, with where each value came from. Paths are expanded. */
export interface ResolvedSshConfig {
  /** The name looked up (ssh's %n). */
  alias: string;
  /** HostName after `%h`, lowercased; undefined: the alias itself (lowercased). */
  hostName?: Sourced<string>;
  user?: Sourced<string>;
  port?: Sourced<number>;
  /** Every IdentityFile, each once, expanded; `none` dropped. */
  identityFiles: Sourced<string>[];
  certificateFiles: Sourced<string>[];
  identitiesOnly?: Sourced<boolean>;
  /** `none`, `SSH_AUTH_SOCK`, or a socket path. */
  identityAgent?: Sourced<string>;
  /** As written; undefined when unset or `none`. */
  proxyJump?: Sourced<string>;
  /** Tokens expanded; undefined when unset or `none`. */
  proxyCommand?: Sourced<string>;
  /** ProxyCommand as written (what ssh -G prints). */
  proxyCommandText?: string;
  /** Expanded; an empty list for `none`. */
  userKnownHostsFiles?: Sourced<string[]>;
  globalKnownHostsFiles?: Sourced<string[]>;
  hostKeyAlias?: Sourced<string>;
  strictHostKeyChecking?: Sourced<StrictHostKeyChecking>;
  hashKnownHosts?: Sourced<boolean>;
  /** Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms: the list ssh would use (its default when unset). */
  algorithms: Record<AlgorithmKind, string[]>;
  /** PubkeyAcceptedAlgorithms, assembled; undefined when unset (ssh's default accepts every key kind we offer). */
  pubkeyAlgorithms?: Sourced<string[]>;
  /** Where each algorithm list was set, when it was. */
  algorithmSources: Partial<Record<AlgorithmKind, Source>>;
  /** Why ssh would connect differently than we can: each names file, line and keyword. Non-empty: refuse (exit 3). */
  refusals: string[];
  /** What the operator may want to know, that changes nothing. */
  notes: string[];
}

export interface ResolveInput {
  /** The name as given (--host, or a ProxyJump hop). */
  alias: string;
  /** ssh -l: the user given outside the config (a flag, or user@ in ProxyJump). */
  user?: string | undefined;
  /** ssh -p. */
  port?: number | undefined;
  home: string;
  localUser: string;
  env: NodeJS.ProcessEnv;
  /** This machine's host name, for %l, %L and %C. */
  localHost: string;
  uid: number;
}

interface RawOption {
  keyword: string;
  args: string[];
  rest: string;
  at: Origin;
  /** The order in which ssh obtained it. */
  seq?: number;
}

interface EvalState {
  input: ResolveInput;
  /** The first value obtained of each single-valued keyword. */
  first: Map<string, RawOption>;
  identityFiles: RawOption[];
  certificateFiles: RawOption[];
  refusals: string[];
  notes: string[];
}

const where = (at: Origin): string => `${at.file} line ${at.line}`;

// Match host compares the HostName obtained so far (with %h expanded), else the alias; match_hostname() lowercases both sides.
function currentHost(state: EvalState): string {
  const hostName = state.first.get('hostname');
  if (hostName === undefined) return state.input.alias;
  try {
    return expandTokens(hostName.args[0]!, { h: state.input.alias });
  } catch {
    return hostName.args[0]!;
  }
}

function currentUser(state: EvalState): string {
  return state.input.user ?? state.first.get('user')?.args[0] ?? state.input.localUser;
}

const lowerPatterns = (value: string): string[] => value.toLowerCase().split(',');

// match_cfg_line() of OpenSSH 9.2, without running anything: an exec it would reach is a refusal.
function matchLine(criteria: MatchCriterion[], at: Origin, state: EvalState): boolean {
  let result = true;
  for (const criterion of criteria) {
    let hit: boolean;
    switch (criterion.attribute) {
      case 'all':
        continue;
      case 'canonical':
      case 'final':
        state.refusals.push(`${where(at)}: Match ${criterion.attribute}: ssh reads the config again after canonicalizing the host name; apply-ws-fix does not`);
        return false;
      case 'exec':
        if (!result) continue; // ssh skips the command once an earlier criterion failed
        state.refusals.push(`${where(at)}: Match exec "${criterion.value}": ssh would run this command to decide; apply-ws-fix never runs it`);
        return false;
      case 'host':
        hit = matchPatternList(lowerPatterns(criterion.value), currentHost(state).toLowerCase()) === 'match';
        break;
      case 'originalhost':
        hit = matchPatternList(lowerPatterns(criterion.value), state.input.alias.toLowerCase()) === 'match';
        break;
      case 'user':
        hit = matchPatternList(criterion.value.split(','), currentUser(state)) === 'match';
        break;
      case 'localuser':
        hit = matchPatternList(criterion.value.split(','), state.input.localUser) === 'match';
        break;
    }
    if (hit === criterion.negate) result = false;
  }
  return result;
}

// IgnoreUnknown: the first active one lists keyword patterns ssh passes over silently.
function ignoredUnknown(keyword: string, state: EvalState): boolean {
  const ignore = state.first.get('ignoreunknown');
  return ignore !== undefined && matchPatternList(ignore.args.join(',').toLowerCase().split(','), keyword) === 'match';
}

function applyOption(option: RawOption, state: EvalState): void {
  const { keyword, args } = option;
  if (keyword === 'identityfile' || keyword === 'certificatefile') {
    const list = keyword === 'identityfile' ? state.identityFiles : state.certificateFiles;
    // ssh keeps one entry per name as written (add_identity_file's "ignoring duplicate key").
    if (!list.some((entry) => entry.args[0] === args[0])) list.push(option);
    return;
  }
  if (keyword === 'proxycommand' || keyword === 'proxyjump') {
    // ssh_config(5): whichever comes first wins; ssh -G shows that `ProxyCommand none` still blocks a later
    // ProxyJump, while `ProxyJump none` does not block a later ProxyCommand.
    if (keyword === 'proxyjump' && state.first.has('proxycommand')) return;
    const jump = state.first.get('proxyjump');
    if (keyword === 'proxycommand' && jump !== undefined && jump.args[0]!.toLowerCase() !== 'none') return;
  }
  if (!state.first.has(keyword)) state.first.set(keyword, { ...option, seq: state.first.size });
}

function evaluateFile(file: ConfigFile, state: EvalState, active: { value: boolean }, neverMatch: boolean): void {
  for (const line of file.lines) {
    switch (line.kind) {
      case 'host':
        active.value = !neverMatch && matchPatternList(line.patterns, state.input.alias) === 'match';
        break;
      case 'match': {
        // ssh evaluates every Match line, even in an Include of a block that does not apply (where it can never
        // match): an exec there would still run, so it must still be seen and refused.
        const hit = matchLine(line.criteria, line.at, state);
        active.value = !neverMatch && hit;
        break;
      }
      case 'include': {
        const outer = active.value;
        for (const included of line.files) {
          evaluateFile(included, state, active, neverMatch || !outer);
          // A Host or Match inside an included file ends with that file (readconf.c restores the state).
          active.value = outer;
        }
        break;
      }
      case 'option': {
        const use = KEYWORDS[line.keyword];
        if (use === undefined) {
          if (ignoredUnknown(line.keyword, state)) break;
          // OpenSSH 9.2 refuses it wherever it stands; a newer ssh may know it, but then it may change where or how
          // ssh connects, which we cannot tell: refused either way, before connecting.
          state.refusals.push(`${where(line.at)}: ${line.args.length > 0 ? `${line.keyword} ${line.args.join(' ')}` : line.keyword}: a keyword apply-ws-fix does not know (OpenSSH 9.2 refuses it too; list it under IgnoreUnknown if ssh may ignore it)`);
          break;
        }
        if (active.value && use.use !== 'ignore') applyOption(line, state);
        break;
      }
    }
  }
}

const order = (option: RawOption): number => option.seq ?? 0;

function yes(value: string): boolean {
  return value.toLowerCase() === 'yes' || value.toLowerCase() === 'true';
}

function expandAt(at: Origin, expand: () => string): string {
  try {
    return expand();
  } catch (error) {
    throw new SshConfigError(at.file, at.line, (error as Error).message);
  }
}

/**
 * Resolves one name against the parsed files, in order (the user's file first, then the system's), as ssh does.
 * Flags (`input.user`, `input.port`) are set before the config, so the config cannot change them and %r/%p use them.
 */
export function resolveSshConfig(files: readonly ConfigFile[], input: ResolveInput): ResolvedSshConfig {
  const state: EvalState = { input, first: new Map(), identityFiles: [], certificateFiles: [], refusals: [], notes: [] };
  for (const file of files) evaluateFile(file, state, { value: true }, false);
  const { first } = state;
  const resolved: ResolvedSshConfig = { alias: input.alias, identityFiles: [], certificateFiles: [], algorithms: defaultAlgorithms(), algorithmSources: {}, refusals: state.refusals, notes: state.notes };
  const sourced = <T>(option: RawOption, value: T): Sourced<T> => ({ value, from: option.at });

  const hostName = first.get('hostname');
  if (hostName !== undefined) resolved.hostName = sourced(hostName, expandAt(hostName.at, () => expandTokens(hostName.args[0]!, { h: input.alias })).toLowerCase());
  if (input.user !== undefined) resolved.user = { value: input.user, from: 'flag' };
  else if (first.has('user')) resolved.user = sourced(first.get('user')!, first.get('user')!.args[0]!);
  if (input.port !== undefined) resolved.port = { value: input.port, from: 'flag' };
  else if (first.has('port')) resolved.port = sourced(first.get('port')!, Number(first.get('port')!.args[0]));
  const alias = first.get('hostkeyalias');
  if (alias !== undefined) resolved.hostKeyAlias = sourced(alias, alias.args[0]!);

  const ctx: TokenContext = {
    host: resolved.hostName?.value ?? input.alias.toLowerCase(),
    original: input.alias,
    port: resolved.port?.value ?? 22,
    remoteUser: resolved.user?.value ?? input.localUser,
    localUser: input.localUser,
    home: input.home,
    localHost: input.localHost,
    uid: input.uid,
    hostKeyAlias: resolved.hostKeyAlias?.value,
  };
  const path = (option: RawOption, value: string): string => expandAt(option.at, () => expandPath(value, ctx, input.env));
  for (const option of state.identityFiles) {
    if (option.args[0]!.toLowerCase() !== 'none') resolved.identityFiles.push(sourced(option, path(option, option.args[0]!)));
  }
  for (const option of state.certificateFiles) {
    if (option.args[0]!.toLowerCase() !== 'none') resolved.certificateFiles.push(sourced(option, path(option, option.args[0]!)));
  }
  // Two names for one file (`~/.ssh/k` and `/home/me/.ssh/k`) are still one key: offer it once.
  resolved.identityFiles = resolved.identityFiles.filter((entry, index, all) => all.findIndex((other) => other.value === entry.value) === index);
  resolved.certificateFiles = resolved.certificateFiles.filter((entry, index, all) => all.findIndex((other) => other.value === entry.value) === index);

  const only = first.get('identitiesonly');
  if (only !== undefined) resolved.identitiesOnly = sourced(only, yes(only.args[0]!));
  const agent = first.get('identityagent');
  if (agent !== undefined) {
    const value = agent.args[0]!;
    let socket: string;
    if (value.toLowerCase() === 'none' || value === 'SSH_AUTH_SOCK') socket = value.toLowerCase() === 'none' ? 'none' : 'SSH_AUTH_SOCK';
    else if (value.startsWith('$') && !value.startsWith('${')) {
      const name = value.slice(1);
      socket = expandAt(agent.at, () => {
        const found = input.env[name];
        if (found === undefined) throw new Error(`IdentityAgent ${value}: the environment variable ${name} is not set`);
        return found;
      });
    } else socket = path(agent, value);
    resolved.identityAgent = sourced(agent, socket);
  }
  const jump = first.get('proxyjump');
  if (jump !== undefined && jump.args[0]!.toLowerCase() !== 'none') resolved.proxyJump = sourced(jump, jump.args[0]!);
  const command = first.get('proxycommand');
  if (command !== undefined) {
    // ssh keeps the rest of the line as written and hands it to a shell.
    const text = command.rest;
    if (text.toLowerCase() !== 'none') {
      resolved.proxyCommand = sourced(command, expandAt(command.at, () => expandTokens(text, proxyCommandTokens(ctx))));
      resolved.proxyCommandText = text;
    }
  }
  for (const keyword of ['userknownhostsfile', 'globalknownhostsfile'] as const) {
    const option = first.get(keyword);
    if (option === undefined) continue;
    const files = option.args[0]!.toLowerCase() === 'none' ? [] : option.args.map((file) => (keyword === 'userknownhostsfile' ? path(option, file) : file));
    if (keyword === 'userknownhostsfile') resolved.userKnownHostsFiles = sourced(option, files);
    else {
      // ssh opens GlobalKnownHostsFile names as written, with no `~` or token expansion: only absolute names mean one file.
      const relative = files.find((file) => !isAbsolute(file));
      if (relative !== undefined) state.refusals.push(`${where(option.at)}: GlobalKnownHostsFile "${relative}": ssh would open it relative to the current directory; give an absolute path`);
      resolved.globalKnownHostsFiles = sourced(option, files);
    }
  }
  const strict = first.get('stricthostkeychecking');
  if (strict !== undefined) {
    const value = strict.args[0]!.toLowerCase();
    resolved.strictHostKeyChecking = sourced(strict, value === 'accept-new' ? 'accept-new' : value === 'ask' ? 'ask' : yes(value) ? 'yes' : 'no');
    if (resolved.strictHostKeyChecking.value === 'no') {
      state.refusals.push(`${where(strict.at)}: StrictHostKeyChecking ${strict.args[0]}: ssh would connect to a host whose key is unknown or changed; apply-ws-fix never does (use accept-new or yes)`);
    }
  }
  const hash = first.get('hashknownhosts');
  if (hash !== undefined) resolved.hashKnownHosts = sourced(hash, yes(hash.args[0]!));
  // PubkeyAcceptedKeyTypes is the old name of the same option: whichever came first.
  const pubkey = [first.get('pubkeyacceptedalgorithms'), first.get('pubkeyacceptedkeytypes')].filter((option) => option !== undefined).sort((a, b) => order(a) - order(b))[0];
  if (pubkey !== undefined) resolved.pubkeyAlgorithms = sourced(pubkey, assemblePubkeyAlgorithms(pubkey.args[0]));
  for (const [kind, keyword] of Object.entries(ALGORITHM_KEYWORDS) as [AlgorithmKind, string][]) {
    const option = first.get(keyword);
    if (option === undefined) continue;
    resolved.algorithms[kind] = assembleAlgorithms(kind, option.args[0]);
    resolved.algorithmSources[kind] = option.at;
    if (forSsh2(kind, resolved.algorithms[kind]).length === 0) {
      state.refusals.push(`${where(option.at)}: ${spelling(keyword)} ${option.args[0]}: none of these is one apply-ws-fix (ssh2) can use, so it cannot connect the way ssh would`);
    }
  }

  // Keywords that change where or how ssh connects, which we do not do: refuse their effective value.
  for (const [keyword, option] of first) {
    const use = KEYWORDS[keyword];
    if (use?.use !== 'refuse-unless') continue;
    const value = option.args.join(' ');
    if (use.allowed.includes(value.toLowerCase())) continue;
    state.refusals.push(`${where(option.at)}: ${spelling(keyword)} ${value}: ${use.why}; apply-ws-fix does not support it`);
  }
  for (const entry of [...resolved.identityFiles, ...resolved.certificateFiles]) {
    if (entry.from !== 'flag' && entry.value.startsWith('~')) state.notes.push(`${where(entry.from)}: "${entry.value}": ~user is not expanded`);
  }
  return resolved;
}

export function defaultAlgorithms(): Record<AlgorithmKind, string[]> {
  return { cipher: assembleAlgorithms('cipher', undefined), hmac: assembleAlgorithms('hmac', undefined), kex: assembleAlgorithms('kex', undefined), serverHostKey: assembleAlgorithms('serverHostKey', undefined) };
}

/** A name's lookup with nothing in the config. */
export function emptyResolution(alias: string): ResolvedSshConfig {
  return { alias, identityFiles: [], certificateFiles: [], algorithms: defaultAlgorithms(), algorithmSources: {}, refusals: [], notes: [] };
}
