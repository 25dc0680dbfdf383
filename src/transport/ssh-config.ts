// The subset of ~/.ssh/config that decides where and how we connect, read with OpenSSH's precedence rules.
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { matchPatternList } from './host-patterns.js';
import { expandTilde, expandTokens } from './ssh-config-expand.js';
import { splitConfigLine, type SshConfigLine } from './ssh-config-line.js';

export interface SshConfigValues {
  /** HostName after `%h` expansion, lowercased as ssh does; undefined means "connect to the alias itself". */
  hostName?: string;
  user?: string;
  port?: number;
  /** Every IdentityFile that applies, in order, `~` and `%` tokens expanded; `none` entries dropped. */
  identityFiles: string[];
  /** The first UserKnownHostsFile directive's files, expanded; empty when unset (or `none`): use the defaults then. */
  userKnownHostsFiles: string[];
  /** `user@bastion:2222` or a comma list, as written; undefined when unset or `none`. */
  proxyJump?: string;
  /** What this reader skipped that OpenSSH would not (Match blocks, Include, ProxyCommand), for a warning. */
  notes?: string[];
}

export interface SshConfigDirective {
  /** Lowercased keyword. */
  keyword: string;
  args: string[];
  line: number;
}

export interface SshConfigBlock {
  /** `global`: lines before the first Host or Match, which apply to every host. */
  kind: 'global' | 'host' | 'match';
  /** Host patterns, or the Match criteria as written. */
  patterns: string[];
  file: string;
  line: number;
  /** Always empty for Match blocks: they are skipped whole. */
  directives: SshConfigDirective[];
}

/** A config line we refuse, named by file and line so the operator can fix it. */
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

const SINGLE_VALUED = ['hostname', 'user', 'port', 'proxyjump', 'userknownhostsfile'] as const;
type SingleValued = (typeof SINGLE_VALUED)[number];

// OpenSSH's a2port(): decimal digits only, 1..65535.
function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

// How ssh_config(5) spells the keywords we check, for error messages.
const SPELLING: Record<string, string> = {
  host: 'Host',
  hostname: 'HostName',
  user: 'User',
  port: 'Port',
  identityfile: 'IdentityFile',
  userknownhostsfile: 'UserKnownHostsFile',
  proxyjump: 'ProxyJump',
};

// Refuses, at parse time and in every block as OpenSSH does, the values we would otherwise misread.
function checkDirective(directive: SshConfigDirective, file: string): void {
  const { keyword, args, line } = directive;
  const name = SPELLING[keyword] ?? keyword;
  const fail = (problem: string): never => {
    throw new SshConfigError(file, line, problem);
  };
  if (args.length === 0) fail(`${name} needs a value`);
  if (SPELLING[keyword] === undefined) return;
  if (args.some((arg) => arg === '')) fail(`${name} has an empty value`);
  const oneValue = keyword !== 'host' && keyword !== 'userknownhostsfile';
  if (oneValue && args.length > 1) fail(`${name} takes one value (put quotes around a value with spaces)`);
  if (keyword === 'port' && parsePort(args[0]!) === undefined) fail(`Port "${args[0]}" is not a number from 1 to 65535`);
  if (keyword === 'userknownhostsfile' && args.length > 1 && args.some((arg) => arg.toLowerCase() === 'none')) {
    fail('UserKnownHostsFile "none" must stand alone');
  }
}

/**
 * Splits a config file into blocks. Match blocks are kept only as markers and their lines skipped entirely: we
 * cannot evaluate their criteria (exec, canonical, final…) the way ssh would, and guessing could apply settings ssh
 * would not. Include lines are kept as directives but not followed; resolveSshConfig reports both in `notes`.
 */
export function parseSshConfig(text: string, file = 'ssh config'): SshConfigBlock[] {
  const blocks: SshConfigBlock[] = [];
  let current: SshConfigBlock | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    let parsed: SshConfigLine | undefined;
    try {
      parsed = splitConfigLine(raw);
    } catch (error) {
      throw new SshConfigError(file, line, (error as Error).message);
    }
    if (parsed === undefined) return;
    const directive = { ...parsed, line };
    checkDirective(directive, file);
    if (parsed.keyword === 'host' || parsed.keyword === 'match') {
      current = { kind: parsed.keyword, patterns: parsed.args, file, line, directives: [] };
      blocks.push(current);
      return;
    }
    if (current === undefined) {
      current = { kind: 'global', patterns: [], file, line, directives: [] };
      blocks.push(current);
    }
    if (current.kind !== 'match') current.directives.push(directive);
  });
  return blocks;
}

// The local login name, for %u and for %r when no User is set (ssh's default user).
function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  }
}

// Runs one expansion, naming the config line when it fails (an unsupported %token, a lone %).
function expandAt(block: SshConfigBlock, line: number, expand: () => string): string {
  try {
    return expand();
  } catch (error) {
    throw new SshConfigError(block.file, line, (error as Error).message);
  }
}

type Found = { directive: SshConfigDirective; block: SshConfigBlock };

interface Gathered {
  /** The first directive obtained for each single-valued keyword. */
  first: Map<SingleValued | 'proxycommand', Found>;
  identities: Found[];
  notes: string[];
}

// Walks the blocks that apply to the alias in file order, keeping what OpenSSH would keep.
function gatherDirectives(blocks: SshConfigBlock[], alias: string): Gathered {
  const gathered: Gathered = { first: new Map(), identities: [], notes: [] };
  const { first, identities, notes } = gathered;
  for (const block of blocks) {
    if (block.kind === 'match') {
      notes.push(`${block.file} line ${block.line}: Match block skipped (its conditions are not evaluated)`);
      continue;
    }
    // Host patterns match the alias as typed, case-sensitively, like ssh; any matching `!pattern` excludes the block.
    if (block.kind === 'host' && matchPatternList(block.patterns, alias) !== 'match') continue;
    for (const directive of block.directives) {
      const { keyword } = directive;
      if (keyword === 'identityfile') identities.push({ directive, block });
      else if (keyword === 'include') notes.push(`${block.file} line ${directive.line}: Include not followed`);
      else if ((SINGLE_VALUED as readonly string[]).includes(keyword) || keyword === 'proxycommand') {
        const key = keyword as SingleValued | 'proxycommand';
        // ProxyJump and ProxyCommand exclude each other: whichever comes first wins (ssh_config(5)), though ssh -G
        // shows that a `none` of one does not block the other.
        const rival = key === 'proxyjump' ? 'proxycommand' : key === 'proxycommand' ? 'proxyjump' : undefined;
        const rivalValue = rival === undefined ? undefined : first.get(rival)?.directive.args[0];
        const blocked = rivalValue !== undefined && rivalValue.toLowerCase() !== 'none';
        if (!first.has(key) && !blocked) first.set(key, { directive, block });
      }
    }
  }
  return gathered;
}

/**
 * OpenSSH semantics for one alias: for single-valued keywords the first value obtained wins, so specific blocks must
 * come before `Host *`; IdentityFile accumulates. UserKnownHostsFile is first-wins too, with several files allowed on
 * its one line: that is what ssh does (ssh -G shows it), and a later `Host *` must not add files that would trust more.
 */
export function resolveSshConfig(blocks: SshConfigBlock[], alias: string, home: string, localUser: string = localUserName()): SshConfigValues {
  const { first, identities, notes } = gatherDirectives(blocks, alias);
  const value = (key: SingleValued): string | undefined => first.get(key)?.directive.args[0];

  const values: SshConfigValues = { identityFiles: [], userKnownHostsFiles: [], notes };
  const hostNameEntry = first.get('hostname');
  if (hostNameEntry !== undefined) {
    const { directive, block } = hostNameEntry;
    values.hostName = expandAt(block, directive.line, () => expandTokens(directive.args[0]!, { h: alias })).toLowerCase();
  }
  const user = value('user');
  if (user !== undefined) values.user = user;
  const port = value('port');
  if (port !== undefined) values.port = Number(port);
  const jump = value('proxyjump');
  if (jump !== undefined && jump.toLowerCase() !== 'none') values.proxyJump = jump;
  const command = first.get('proxycommand');
  if (command !== undefined && command.directive.args[0]?.toLowerCase() !== 'none') {
    notes.push(`${command.block.file} line ${command.directive.line}: ProxyCommand is not supported; connecting without it`);
  }

  const tokens = {
    h: values.hostName ?? alias.toLowerCase(),
    p: String(values.port ?? 22),
    r: values.user ?? localUser,
    u: localUser,
    d: home,
    n: alias,
  };
  for (const { directive, block } of identities) {
    const file = directive.args[0]!;
    if (file.toLowerCase() === 'none') continue;
    values.identityFiles.push(expandAt(block, directive.line, () => expandTokens(expandTilde(file, home), tokens)));
  }
  const knownHosts = first.get('userknownhostsfile');
  if (knownHosts !== undefined && knownHosts.directive.args[0]!.toLowerCase() !== 'none') {
    const { directive, block } = knownHosts;
    values.userKnownHostsFiles = directive.args.map((file) => expandAt(block, directive.line, () => expandTokens(expandTilde(file, home), tokens)));
  }
  for (const path of [...values.identityFiles, ...values.userKnownHostsFiles]) {
    if (path.includes('${')) notes.push(`"${path}": \${VARIABLE} is not expanded`);
  }
  return values;
}

// A missing config is the common case and means "no settings"; a broken one is an error naming its line.
export async function loadSshConfig(path: string, alias: string, home: string): Promise<SshConfigValues> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { identityFiles: [], userKnownHostsFiles: [], notes: [] };
    throw error;
  }
  return resolveSshConfig(parseSshConfig(text, path), alias, home);
}
