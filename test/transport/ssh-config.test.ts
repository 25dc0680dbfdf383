import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSshConfig, resolveSshConfig, SshConfigError, type ResolvedSshConfig } from '../../src/transport/ssh-config.js';
import { compareHop, runSshG } from '../../src/transport/ssh-config-openssh.js';
import { expandTilde, expandTokens } from '../../src/transport/ssh-config-expand.js';
import { splitConfigLine } from '../../src/transport/ssh-config-line.js';

const HOME = '/home/u';
const LOCAL_USER = 'u';

/** The values a case pins, without their sources. */
interface SshConfigValues {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  userKnownHostsFiles: string[];
  proxyJump?: string;
  proxyCommand?: string;
  notes?: string[];
  refusals?: string[];
}

function flat(resolved: ResolvedSshConfig): SshConfigValues {
  const values: SshConfigValues = {
    identityFiles: resolved.identityFiles.map((entry) => entry.value),
    userKnownHostsFiles: resolved.userKnownHostsFiles?.value ?? [],
    notes: resolved.notes,
    refusals: resolved.refusals,
  };
  if (resolved.hostName !== undefined) values.hostName = resolved.hostName.value;
  if (resolved.user !== undefined) values.user = resolved.user.value;
  if (resolved.port !== undefined) values.port = resolved.port.value;
  if (resolved.proxyJump !== undefined) values.proxyJump = resolved.proxyJump.value;
  if (resolved.proxyCommand !== undefined) values.proxyCommand = resolved.proxyCommand.value;
  return values;
}

const input = (alias: string, home = HOME, localUser = LOCAL_USER) => ({ alias, home, localUser, env: { AWF_X: 'x' }, localHost: 'box.example', uid: 1000 });
const resolveText = (config: string[], alias: string, file = 'cfg') => flat(resolveSshConfig([parseSshConfig(config.join('\n'), file)], input(alias)));

interface Case {
  name: string;
  config: string[];
  alias: string;
  expected: Partial<SshConfigValues>;
}

const EMPTY = { identityFiles: [], userKnownHostsFiles: [] };

const cases: Case[] = [
  {
    name: 'a Host block gives HostName, User, Port, IdentityFile',
    config: ['Host web', '  HostName web.example.com', '  User deploy', '  Port 2222', '  IdentityFile ~/.ssh/web_ed25519'],
    alias: 'web',
    expected: { hostName: 'web.example.com', user: 'deploy', port: 2222, identityFiles: [`${HOME}/.ssh/web_ed25519`], userKnownHostsFiles: [] },
  },
  { name: 'an alias no block names gets nothing', config: ['Host web', '  User deploy'], alias: 'db', expected: { ...EMPTY, notes: [] } },
  { name: 'an empty file gives nothing', config: [], alias: 'web', expected: EMPTY },
  {
    name: 'keywords are case-insensitive; Key=value and Key = value work',
    config: ['HOST=web', '  hOsTnAmE=web.example.com', '  USER = deploy', '  port =2200', '\tidentityfile\t~/.ssh/k'],
    alias: 'web',
    expected: { hostName: 'web.example.com', user: 'deploy', port: 2200, identityFiles: [`${HOME}/.ssh/k`] },
  },
  {
    name: 'quoted values and escaped spaces keep their spaces',
    config: ['Host web', '  IdentityFile "~/.ssh/my key"', '  IdentityFile ~/.ssh/other\\ key', "  User 'deploy'"],
    alias: 'web',
    expected: { user: 'deploy', identityFiles: [`${HOME}/.ssh/my key`, `${HOME}/.ssh/other key`] },
  },
  {
    name: 'comments, blank lines and trailing comments are ignored',
    config: ['# a comment', '', 'Host web # the web box', '   # indented comment', '  Port 2222 # not the default', '  User deploy'],
    alias: 'web',
    expected: { port: 2222, user: 'deploy' },
  },
  { name: 'CRLF line ends are tolerated', config: ['Host web\r', '  Port 2200\r', '  User bob\r'], alias: 'web', expected: { port: 2200, user: 'bob' } },
  {
    name: 'a specific block before Host * wins; Host * fills the gaps',
    config: ['Host web', '  User deploy', '  Port 2222', 'Host *', '  User nobody', '  Port 22', '  ProxyJump gate'],
    alias: 'web',
    expected: { user: 'deploy', port: 2222, proxyJump: 'gate' },
  },
  {
    name: 'Host * first wins over a later specific block (first value obtained)',
    config: ['Host *', '  User everyone', 'Host web', '  User deploy', '  Port 2222'],
    alias: 'web',
    expected: { user: 'everyone', port: 2222 },
  },
  {
    name: 'lines before the first Host apply to every host',
    config: ['User global', 'Port 2200', 'Host web', '  User deploy'],
    alias: 'web',
    expected: { user: 'global', port: 2200 },
  },
  {
    name: 'IdentityFile accumulates across blocks, in order',
    config: ['IdentityFile ~/.ssh/global', 'Host web', '  IdentityFile ~/.ssh/web', 'Host *', '  IdentityFile ~/.ssh/fallback'],
    alias: 'web',
    expected: { identityFiles: [`${HOME}/.ssh/global`, `${HOME}/.ssh/web`, `${HOME}/.ssh/fallback`] },
  },
  {
    name: 'IdentityFile none is dropped',
    config: ['Host web', '  IdentityFile none', '  IdentityFile ~/.ssh/web'],
    alias: 'web',
    expected: { identityFiles: [`${HOME}/.ssh/web`] },
  },
  {
    name: 'UserKnownHostsFile: the first directive wins, with all its files (ssh -G shows this)',
    config: ['Host web', '  UserKnownHostsFile ~/.ssh/kh_web /etc/ssh/kh_shared', 'Host *', '  UserKnownHostsFile ~/.ssh/kh_any'],
    alias: 'web',
    expected: { userKnownHostsFiles: [`${HOME}/.ssh/kh_web`, '/etc/ssh/kh_shared'] },
  },
  {
    name: 'UserKnownHostsFile none leaves the list empty and stops later values',
    config: ['Host web', '  UserKnownHostsFile none', 'Host *', '  UserKnownHostsFile ~/.ssh/kh_any'],
    alias: 'web',
    expected: { userKnownHostsFiles: [] },
  },
  {
    name: 'a negated pattern keeps the block from the excluded alias',
    config: ['Host *.example.com !bastion.example.com', '  ProxyJump bastion.example.com', '  User app'],
    alias: 'bastion.example.com',
    expected: { ...EMPTY },
  },
  {
    name: 'the same block applies to the other aliases',
    config: ['Host *.example.com !bastion.example.com', '  ProxyJump bastion.example.com', '  User app'],
    alias: 'web.example.com',
    expected: { proxyJump: 'bastion.example.com', user: 'app' },
  },
  {
    name: 'a negation wins wherever it stands on the line',
    config: ['Host !web *', '  User other', 'Host *', '  User fallback'],
    alias: 'web',
    expected: { user: 'fallback' },
  },
  {
    name: 'a block of negations only never applies',
    config: ['Host !db', '  Port 1111', 'Host *', '  Port 2222'],
    alias: 'web',
    expected: { port: 2222 },
  },
  {
    name: 'the ? wildcard stands for one character',
    config: ['Host web?', '  Port 2201', 'Host web??', '  Port 2202'],
    alias: 'web12',
    expected: { port: 2202 },
  },
  {
    name: 'several patterns on one Host line',
    config: ['Host db web api', '  User ops'],
    alias: 'web',
    expected: { user: 'ops' },
  },
  {
    name: 'Host patterns are case-sensitive, as in ssh; HostName comes out lowercased',
    config: ['Host web', '  Port 2222', 'Host WEB', '  HostName Web.Example.COM'],
    alias: 'WEB',
    expected: { hostName: 'web.example.com', port: undefined },
  },
  {
    name: 'HostName %h puts the alias into the name',
    config: ['Host web db', '  HostName %h.internal.example'],
    alias: 'db',
    expected: { hostName: 'db.internal.example' },
  },
  {
    name: 'IdentityFile and UserKnownHostsFile tokens: %h %p %r %u %d %n %%',
    config: ['Host web', '  HostName web.example.com', '  User deploy', '  Port 2222', '  IdentityFile ~/.ssh/%h_%p_%r_%u', '  IdentityFile %d/keys/%n-100%%', '  UserKnownHostsFile %d/.ssh/kh_%h_%p'],
    alias: 'web',
    expected: {
      identityFiles: [`${HOME}/.ssh/web.example.com_2222_deploy_${LOCAL_USER}`, `${HOME}/keys/web-100%`],
      userKnownHostsFiles: [`${HOME}/.ssh/kh_web.example.com_2222`],
    },
  },
  {
    name: 'without HostName, User or Port: %h is the alias, %r the local user, %p 22',
    config: ['Host Web', '  IdentityFile ~/.ssh/%h_%r_%p'],
    alias: 'Web',
    expected: { identityFiles: [`${HOME}/.ssh/web_${LOCAL_USER}_22`] },
  },
  {
    name: '~user/ paths are left as written',
    config: ['Host web', '  IdentityFile ~other/.ssh/key', '  IdentityFile /abs/~/key'],
    alias: 'web',
    expected: { identityFiles: ['~other/.ssh/key', '/abs/~/key'] },
  },
  {
    name: 'ProxyJump user@bastion:2222',
    config: ['Host web', '  ProxyJump deploy@bastion.example.com:2222'],
    alias: 'web',
    expected: { proxyJump: 'deploy@bastion.example.com:2222' },
  },
  {
    name: 'ProxyJump none in a specific block cancels a Host * jump',
    config: ['Host bastion', '  ProxyJump none', 'Host *', '  ProxyJump bastion'],
    alias: 'bastion',
    expected: { proxyJump: undefined },
  },
  {
    name: 'a ProxyCommand seen first wins over a ProxyJump; its tokens are expanded, its quotes kept for the shell',
    config: ['Host web', '  ProxyCommand nc -X connect "%h" %p', '  ProxyJump gate'],
    alias: 'web',
    expected: { proxyJump: undefined, proxyCommand: 'nc -X connect "web" 22', refusals: [] },
  },
  {
    name: 'ProxyCommand none cancels a later ProxyJump',
    config: ['Host web', '  ProxyCommand none', 'Host *', '  ProxyJump gate'],
    alias: 'web',
    expected: { proxyJump: undefined, proxyCommand: undefined },
  },
  {
    name: 'a Match block that does not match changes nothing',
    config: ['Match host other', '  User matched', 'Host web', '  User deploy'],
    alias: 'web',
    expected: { user: 'deploy', notes: [] },
  },
  {
    name: 'a Match block that matches applies, in file order',
    config: ['Host web', '  Port 2222', 'Match all', '  User matched', '  Port 3333', 'Host *', '  User deploy'],
    alias: 'web',
    expected: { user: 'matched', port: 2222 },
  },
  {
    name: 'an Include that matches no file is nothing, as in ssh',
    config: ['Include /nonexistent-apply-ws-fix/*.conf', 'Host web', '  User deploy'],
    alias: 'web',
    expected: { user: 'deploy', notes: [] },
  },
  {
    name: 'keywords that change nothing we do are ignored',
    config: ['Host web', '  ServerAliveInterval 30', '  ForwardAgent yes', '  ControlMaster auto', '  User deploy'],
    alias: 'web',
    expected: { user: 'deploy', refusals: [] },
  },
];

describe('resolveSshConfig', () => {
  it.each(cases)('$name', ({ config, alias, expected }) => {
    const values = resolveText(config, alias);
    expect(values).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, value]) => value !== undefined)));
    // An expected `undefined` must mean the key is really unset, not just missing from the expectation.
    for (const [key, value] of Object.entries(expected)) if (value === undefined) expect(values).not.toHaveProperty(key);
  });
});

const errorCases: { name: string; config: string[]; message: RegExp; opensshRejects: boolean }[] = [
  { name: 'a Port that is not a number', config: ['Host web', '  Port abc'], message: /^cfg line 2: Port "abc" is not a number from 1 to 65535$/, opensshRejects: true },
  // ssh would look "ssh" up in /etc/services; a number is what we ask for.
  { name: 'a Port given as a service name', config: ['Port ssh'], message: /^cfg line 1: Port "ssh" is not a number/, opensshRejects: false },
  { name: 'Port 0', config: ['Port 0'], message: /^cfg line 1: Port "0"/, opensshRejects: true },
  { name: 'Port 65536', config: ['Port 65536'], message: /^cfg line 1: Port "65536"/, opensshRejects: true },
  { name: 'Port 22x', config: ['Port 22x'], message: /^cfg line 1: Port "22x"/, opensshRejects: true },
  { name: 'a bad Port in a block for another host (ssh refuses it too)', config: ['Host other', '  Port 70000', 'Host web', '  Port 22'], message: /^cfg line 2: Port "70000"/, opensshRejects: true },
  { name: 'an unterminated quote', config: ['Host web', '  User "deploy'], message: /^cfg line 2: unterminated quote$/, opensshRejects: true },
  { name: 'a keyword without a value', config: ['Host web', '  User'], message: /^cfg line 2: User needs a value$/, opensshRejects: true },
  { name: 'an empty quoted value', config: ['IdentityFile ""'], message: /^cfg line 1: IdentityFile has an empty value$/, opensshRejects: true },
  { name: 'an unquoted space in a file name', config: ['Host web', '  IdentityFile ~/.ssh/my key'], message: /^cfg line 2: IdentityFile takes one value/, opensshRejects: true },
  { name: 'none among other known hosts files', config: ['UserKnownHostsFile none ~/.ssh/kh'], message: /^cfg line 1: UserKnownHostsFile "none" must stand alone$/, opensshRejects: true },
  { name: 'an unknown %token', config: ['Host web', '  IdentityFile ~/.ssh/%Z'], message: /^cfg line 2: "\/home\/u\/.ssh\/%Z" uses %Z, which is not supported here \(supported: %C %d %h %i %k %L %l %n %p %r %u %%\)$/, opensshRejects: false },
  { name: 'an unset ${VARIABLE}', config: ['Host web', '  UserKnownHostsFile ~/kh_${AWF_NOT_SET}'], message: /AWF_NOT_SET is not set/, opensshRejects: false },
  { name: 'a Match attribute OpenSSH 9.2 does not know', config: ['Match tagged x', '  Port 2'], message: /^cfg line 1: Match attribute "tagged"/, opensshRejects: true },
  { name: 'a cipher OpenSSH does not know, or a pattern outside a -list', config: ['Host web', '  Ciphers aes*-ctr'], message: /^cfg line 2: Ciphers "aes\*-ctr" is not an algorithm OpenSSH knows/, opensshRejects: true },
  { name: 'Match all with another criterion', config: ['Match all host x', '  Port 2'], message: /cannot be combined/, opensshRejects: true },
  { name: 'a lone % at the end', config: ['Host web', '  UserKnownHostsFile ~/kh%'], message: /^cfg line 2: .*ends with a lone %$/, opensshRejects: false },
  { name: 'HostName with a token other than %h', config: ['Host web', '  HostName %p.example'], message: /^cfg line 2: "%p.example" uses %p/, opensshRejects: true },
];

describe('config errors name the file and line', () => {
  it.each(errorCases)('$name', ({ config, message }) => {
    const run = () => resolveText(config, 'web');
    expect(run).toThrow(SshConfigError);
    expect(run).toThrow(message);
  });
});

describe('config lines', () => {
  it.each([
    ['Port 22', { keyword: 'port', args: ['22'] }],
    ['  Port=22', { keyword: 'port', args: ['22'] }],
    ['Port = 22', { keyword: 'port', args: ['22'] }],
    ['Port\t=\t22  ', { keyword: 'port', args: ['22'] }],
    ['Host a b  c', { keyword: 'host', args: ['a', 'b', 'c'] }],
    ['User "a b"', { keyword: 'user', args: ['a b'] }],
    ["User 'a \"b\"'", { keyword: 'user', args: ['a "b"'] }],
    ['User a\\ b', { keyword: 'user', args: ['a b'] }],
    ['User "a\\"b"', { keyword: 'user', args: ['a"b'] }],
    ['User a\\x', { keyword: 'user', args: ['a\\x'] }],
    ['User a#b', { keyword: 'user', args: ['a#b'] }],
    ['User a #b', { keyword: 'user', args: ['a'] }],
    ['User "#a"', { keyword: 'user', args: ['#a'] }],
    ['User ""', { keyword: 'user', args: [''] }],
    ['Port', { keyword: 'port', args: [] }],
  ])('%j splits as OpenSSH does', (line, expected) => {
    expect(splitConfigLine(line)).toMatchObject(expected);
  });

  it.each(['', '   ', '# comment', '  # indented'])('%j is no directive', (line) => {
    expect(splitConfigLine(line)).toBeUndefined();
  });
});

describe('expansions', () => {
  it.each([
    ['~', '/home/u'],
    ['~/x', '/home/u/x'],
    ['~other/x', '~other/x'],
    ['x/~', 'x/~'],
  ])('tilde in %s', (path, expected) => {
    expect(expandTilde(path, '/home/u')).toBe(expected);
  });

  it('does not double the slash of a home that ends with one', () => {
    expect(expandTilde('~/x', '/')).toBe('/x');
    expect(expandTilde('~', '/')).toBe('/');
    expect(expandTilde('~/x', '/home/u/')).toBe('/home/u/x');
  });

  it('expands tokens once, without re-reading what they inserted', () => {
    expect(expandTokens('%h/%%h/%h', { h: 'a%p' })).toBe('a%p/%h/a%p');
  });
});

describe('parseSshConfig', () => {
  it('keeps lines in order with where they are; Include is followed at once', () => {
    const parsed = parseSshConfig(['User g', 'Host a b', '  Port 22', 'Match all', '  User m', 'Include inc.conf'].join('\n'), 'cfg', {
      home: '/home/u',
      system: false,
      glob: (pattern) => (pattern === '/home/u/.ssh/inc.conf' ? [pattern] : []),
      read: () => 'Port 7\n',
    });
    expect(parsed.lines.map((line) => [line.kind, line.at.line])).toEqual([['option', 1], ['host', 2], ['option', 3], ['match', 4], ['option', 5], ['include', 6]]);
    const include = parsed.lines[5]!;
    expect(include.kind === 'include' && include.files.map((file) => [file.path, file.lines.length])).toEqual([['/home/u/.ssh/inc.conf', 1]]);
  });

  it('resolves a relative Include under /etc/ssh for the system config', () => {
    const seen: string[] = [];
    parseSshConfig('Include ssh_config.d/*.conf\n', '/etc/ssh/ssh_config', { home: '/home/u', system: true, glob: (pattern) => (seen.push(pattern), []) });
    expect(seen).toEqual(['/etc/ssh/ssh_config.d/*.conf']);
  });

  it('refuses an Include loop past 16 levels, naming the line', () => {
    expect(() => parseSshConfig('Include /loop\n', 'cfg', { home: '/h', system: false, glob: () => ['/loop'], read: () => 'Include /loop\n' })).toThrow(/Include nested more than 16 deep/);
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'ssh-config-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('Include on the file system', () => {
  it('an included file another user may write is refused, as ssh refuses it', () => {
    const inc = join(scratch, 'group-writable.conf');
    writeFileSync(inc, 'Port 2\n', { mode: 0o666 });
    chmodSync(inc, 0o666);
    expect(() => parseSshConfig(`Include ${inc}\n`, 'cfg', { home: '/h', system: false, checkPermissions: true, uid: process.getuid!() })).toThrow(/bad owner or permissions/);
  });
});

// Decides whether the cross-checks can run: they need OpenSSH's own client.
function findSshBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const ssh = findSshBinary();

describe.skipIf(ssh === undefined)(`cross-checks with OpenSSH's ssh -G${ssh === undefined ? ' (skipped: ssh is not installed; apt-get install -y openssh-client)' : ''}`, () => {
  // ssh -G uses the passwd entry, so the cross-check does too.
  const me = userInfo();
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: me.homedir, AWF_X: 'x' };

  it.each(cases)('agrees with ssh -G: $name', async ({ name, config, alias }) => {
    const path = join(scratch, `g-${name.replace(/[^a-z0-9]+/gi, '-')}`);
    writeFileSync(path, config.join('\n') + '\n');
    const ctx = { home: me.homedir, localUser: me.username, env, localHost: hostname(), uid: process.getuid?.() ?? 0 };
    const ours = resolveSshConfig([parseSshConfig(config.join('\n'), path)], { alias, ...ctx });
    const theirs = await runSshG(ssh!, { configFile: path, host: alias }, env);
    expect(compareHop(alias, ours, theirs, ctx)).toEqual([]);
  });

  it.each(errorCases.filter((c) => c.opensshRejects))('ssh -G refuses it too: $name', async ({ name, config }) => {
    const path = join(scratch, `e-${name.replace(/[^a-z0-9]+/gi, '-')}`);
    writeFileSync(path, config.join('\n') + '\n');
    await expect(runSshG(ssh!, { configFile: path, host: 'web' }, env)).rejects.toThrow();
  });
});

describe('an unknown keyword', () => {
  it('is a refusal (exit 3 at connect) naming file, line and keyword, even in a block that does not apply, as ssh refuses it', () => {
    expect(resolveText(['Host other', '  Bogus yes', 'Host web', '  User deploy'], 'web').refusals).toEqual([
      'cfg line 2: bogus yes: a keyword apply-ws-fix does not know (OpenSSH 9.2 refuses it too; list it under IgnoreUnknown if ssh may ignore it)',
    ]);
    expect(resolveText(['IgnoreUnknown bogus', 'Host other', '  Bogus yes'], 'web').refusals).toEqual([]);
  });
});
