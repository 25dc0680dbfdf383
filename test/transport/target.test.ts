import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseSshConfig } from '../../src/transport/ssh-config.js';
import { loadTarget, resolveTarget, type SshFlags, type SshTargetSpec } from '../../src/transport/target.js';

const HOME = '/home/op';
const DEFAULTS = { host: 'vaettir.locki.io', port: 22, user: 'jnxmas' };
const CTX = { home: HOME, localUser: 'op', configFile: '/home/op/.ssh/config', globalKnownHosts: ['/etc/ssh/ssh_known_hosts'] };

function resolve(config: string[], flags: SshFlags = {}): SshTargetSpec {
  return resolveTarget(flags, parseSshConfig(config.join('\n'), CTX.configFile), DEFAULTS, CTX);
}

const BOX = ['Host box', '  HostName 10.0.0.5', '  User deploy', '  Port 2222', '  IdentityFile ~/.ssh/box_ed25519', '  UserKnownHostsFile ~/.ssh/kh_box ~/.ssh/kh_more'];

describe('resolveTarget: flags, then the ssh config, then the runbook', () => {
  it('no flags and no config: the runbook\'s host, port and user; OpenSSH\'s default known_hosts files', () => {
    expect(resolve([])).toEqual({
      host: 'vaettir.locki.io',
      port: 22,
      user: 'jnxmas',
      identity: undefined,
      knownHosts: `${HOME}/.ssh/known_hosts`,
      ssh: { identityFiles: [], extraKnownHosts: [`${HOME}/.ssh/known_hosts2`, '/etc/ssh/ssh_known_hosts'], acceptNewHostKey: false, jumps: [], notes: [] },
    });
  });

  it('--host may be an alias: HostName, User, Port, IdentityFile and UserKnownHostsFile come from its block', () => {
    expect(resolve(BOX, { host: 'box' })).toEqual({
      host: '10.0.0.5',
      port: 2222,
      user: 'deploy',
      identity: undefined,
      knownHosts: `${HOME}/.ssh/kh_box`,
      ssh: {
        identityFiles: [`${HOME}/.ssh/box_ed25519`],
        extraKnownHosts: [`${HOME}/.ssh/kh_more`, '/etc/ssh/ssh_known_hosts'],
        acceptNewHostKey: false,
        jumps: [],
        notes: [],
        alias: 'box',
      },
    });
  });

  it('the config applies to the runbook\'s default host too', () => {
    const target = resolve(['Host vaettir.locki.io', '  User me', '  Port 2200']);
    expect(target).toMatchObject({ host: 'vaettir.locki.io', user: 'me', port: 2200 });
    expect(target.ssh.alias).toBeUndefined();
  });

  it('explicit flags win over the config: --port, --user, --identity, --known-hosts', () => {
    const target = resolve(BOX, { host: 'box', port: 22, user: 'root2', identity: '/keys/k', knownHosts: '/tmp/kh', acceptNewHostKey: true });
    expect(target).toMatchObject({ host: '10.0.0.5', port: 22, user: 'root2', identity: '/keys/k', knownHosts: '/tmp/kh' });
    // --identity means that key alone; --known-hosts means that file alone (no global files either).
    expect(target.ssh).toMatchObject({ identityFiles: [], extraKnownHosts: [], acceptNewHostKey: true });
  });

  it('the config wins over the runbook\'s defaults, which fill in only what neither gave', () => {
    expect(resolve(['Host box', '  Port 2022'], { host: 'box' })).toMatchObject({ host: 'box', port: 2022, user: 'jnxmas' });
  });

  it('ProxyJump: one bastion, its user and port from the value, its HostName and keys from its own block', () => {
    const target = resolve(['Host box', '  HostName 10.0.0.5', '  ProxyJump ops@gate:2201', 'Host gate', '  HostName gate.example.com', '  User ignored', '  IdentityFile ~/.ssh/gate_key'], { host: 'box' });
    expect(target.ssh.jumps).toEqual([{ label: 'ops@gate:2201', host: 'gate.example.com', port: 2201, user: 'ops', identityFiles: [`${HOME}/.ssh/gate_key`] }]);
  });

  it('ProxyJump: a bastion with no User anywhere gets the local user name, as ssh does; port 22', () => {
    expect(resolve(['Host box', '  ProxyJump gate'], { host: 'box' }).ssh.jumps).toEqual([{ label: 'gate', host: 'gate', port: 22, user: 'op', identityFiles: [] }]);
  });

  it('ProxyJump chains: a list, and a first hop with its own ProxyJump, outermost first', () => {
    const target = resolve(['Host box', '  ProxyJump b,c', 'Host b', '  ProxyJump a', 'Host c', '  ProxyJump ignored-because-listed-after-b'], { host: 'box' });
    expect(target.ssh.jumps.map((jump) => jump.host)).toEqual(['a', 'b', 'c']);
  });

  it('ProxyJump none, and a ProxyCommand we do not run (noted)', () => {
    expect(resolve(['Host box', '  ProxyJump none'], { host: 'box' }).ssh.jumps).toEqual([]);
    const target = resolve(['Host box', '  ProxyCommand nc %h %p'], { host: 'box' });
    expect(target.ssh.jumps).toEqual([]);
    expect(target.ssh.notes.join('\n')).toMatch(/ProxyCommand is not supported/);
  });

  it('refuses a ProxyJump loop, naming the config', () => {
    expect(() => resolve(['Host box', '  ProxyJump gate', 'Host gate', '  ProxyJump box'], { host: 'box' })).toThrow(/more than 8 hosts/);
  });

  it('refuses hostile or broken values from the config as usage errors (exit 64) that name the file', () => {
    const cases: [string[], RegExp][] = [
      [['Host box', '  HostName -oProxyCommand=x'], /HostName "-oproxycommand=x" is not a host name/i],
      [['Host box', '  User x$(id)'], /User "x\$\(id\)" is not a user name/],
      [['Host box', '  ProxyJump a,,b'], /empty hop/],
      [['Host box', '  ProxyJump gate', 'Host gate', '  HostName bad_name!'], /Host gate: HostName "bad_name!"/],
      [['Host box', '  IdentityFile ~/.ssh/%Z'], /%Z/],
    ];
    for (const [config, message] of cases) {
      let error: unknown;
      try {
        resolve(config, { host: 'box' });
      } catch (e) {
        error = e;
      }
      expect(error, config.join(' / ')).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(message);
      expect((error as UsageError).remedy).toMatch(/--ssh-config none/);
    }
  });
});

describe('loadTarget: reading the config file', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'target-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const env = { HOME: scratch };

  it('a missing ~/.ssh/config is an empty one', async () => {
    await expect(loadTarget({}, DEFAULTS, env, [])).resolves.toMatchObject({ host: 'vaettir.locki.io', knownHosts: join(scratch, '.ssh', 'known_hosts') });
  });

  it('reads ~/.ssh/config by default, and --ssh-config FILE instead', async () => {
    const ssh = join(scratch, '.ssh');
    rmSync(ssh, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ssh);
    writeFileSync(join(ssh, 'config'), 'Host box\n  HostName 10.1.1.1\n');
    writeFileSync(join(scratch, 'other'), 'Host box\n  HostName 10.2.2.2\n');
    await expect(loadTarget({ host: 'box' }, DEFAULTS, env, [])).resolves.toMatchObject({ host: '10.1.1.1' });
    await expect(loadTarget({ host: 'box', sshConfig: join(scratch, 'other') }, DEFAULTS, env, [])).resolves.toMatchObject({ host: '10.2.2.2' });
    await expect(loadTarget({ host: 'box', sshConfig: 'none' }, DEFAULTS, env, [])).resolves.toMatchObject({ host: 'box' });
  });

  it('a missing --ssh-config FILE, or a broken line, is a usage error', async () => {
    await expect(loadTarget({ sshConfig: join(scratch, 'nope') }, DEFAULTS, env)).rejects.toThrow(/cannot read the ssh config .*nope: no such file/);
    writeFileSync(join(scratch, 'broken'), 'Host box\n  Port eighty\n');
    const error = await loadTarget({ sshConfig: join(scratch, 'broken') }, DEFAULTS, env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/broken line 2: Port "eighty"/);
  });
});
