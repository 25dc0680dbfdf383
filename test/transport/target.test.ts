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
    expect(resolve([])).toMatchObject({
      host: 'vaettir.locki.io',
      port: 22,
      user: 'jnxmas',
      identity: undefined,
      knownHosts: `${HOME}/.ssh/known_hosts`,
      ssh: { identityFiles: [], extraKnownHosts: [`${HOME}/.ssh/known_hosts2`, '/etc/ssh/ssh_known_hosts'], acceptNewHostKey: false, jumps: [], notes: [], refusals: [], identitiesOnly: false },
    });
  });

  it('--host may be an alias: HostName, User, Port, IdentityFile and UserKnownHostsFile come from its block', () => {
    expect(resolve(BOX, { host: 'box' })).toMatchObject({
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
    expect(target.ssh.jumps).toMatchObject([{ label: 'ops@gate:2201', host: 'gate.example.com', port: 2201, user: 'ops', identityFiles: [`${HOME}/.ssh/gate_key`] }]);
  });

  it('ProxyJump: a bastion with no User anywhere gets the local user name, as ssh does; port 22', () => {
    expect(resolve(['Host box', '  ProxyJump gate'], { host: 'box' }).ssh.jumps).toMatchObject([{ label: 'gate', host: 'gate', port: 22, user: 'op', identityFiles: [] }]);
  });

  it('ProxyJump chains: a list, and a first hop with its own ProxyJump, outermost first', () => {
    const target = resolve(['Host box', '  ProxyJump b,c', 'Host b', '  ProxyJump a', 'Host c', '  ProxyJump ignored-because-listed-after-b'], { host: 'box' });
    expect(target.ssh.jumps.map((jump) => jump.host)).toEqual(['a', 'b', 'c']);
  });

  it('ProxyJump none; a ProxyCommand is run as ssh runs it, with %h %p %r from the effective values', () => {
    expect(resolve(['Host box', '  ProxyJump none'], { host: 'box' }).ssh.jumps).toEqual([]);
    const target = resolve(['Host box', '  HostName 10.0.0.5', '  User cfg', '  ProxyCommand nc %h %p # %r'], { host: 'box', user: 'flagged', port: 2200 });
    expect(target.ssh.jumps).toEqual([]);
    expect(target.ssh.proxyCommand).toEqual({ command: 'nc 10.0.0.5 2200 # flagged', hop: 'box' });
    expect(target.ssh.refusals).toEqual([]);
  });

  it('a bastion\'s own ProxyCommand carries the first hop', () => {
    const target = resolve(['Host box', '  ProxyJump gate', 'Host gate', '  ProxyCommand connect-to %h'], { host: 'box' });
    expect(target.ssh.jumps.map((jump) => jump.host)).toEqual(['gate']);
    expect(target.ssh.proxyCommand).toEqual({ command: 'connect-to gate', hop: 'gate' });
  });

  it('%r and %p in file names come from --user and --port, not from the config\'s User and Port', () => {
    const target = resolve(['Host box', '  User cfg', '  Port 2222', '  IdentityFile ~/.ssh/%r_%p', '  UserKnownHostsFile ~/.ssh/kh_%r_%p'], { host: 'box', user: 'flagged', port: 2200 });
    expect(target.ssh.identityFiles).toEqual([`${HOME}/.ssh/flagged_2200`]);
    expect(target.knownHosts).toBe(`${HOME}/.ssh/kh_flagged_2200`);
  });

  it('HostKeyAlias, GlobalKnownHostsFile, UserKnownHostsFile none, StrictHostKeyChecking accept-new, IdentitiesOnly, CertificateFile, IdentityAgent', () => {
    const target = resolve(
      ['Host box', '  HostKeyAlias prod-alias', '  UserKnownHostsFile none', '  GlobalKnownHostsFile /etc/awf/kh', '  StrictHostKeyChecking accept-new', '  IdentitiesOnly yes', '  IdentityFile ~/.ssh/k', '  CertificateFile ~/.ssh/k-cert.pub', '  IdentityAgent none', '  HashKnownHosts yes'],
      { host: 'box' },
    );
    expect(target.knownHosts).toBe('');
    expect(target.ssh).toMatchObject({ hostKeyAlias: 'prod-alias', extraKnownHosts: ['/etc/awf/kh'], acceptNewHostKey: true, identitiesOnly: true, identityFiles: [`${HOME}/.ssh/k`], certificateFiles: [`${HOME}/.ssh/k-cert.pub`], identityAgent: 'none', hashKnownHosts: true });
    expect(target.ssh.notes.join('\n')).toMatch(/UserKnownHostsFile none: no user known_hosts file; a new host key cannot be recorded/);
  });

  it('a bastion checks its host key against its own files, with its own HostKeyAlias and accept-new', () => {
    const target = resolve(['Host box', '  ProxyJump gate', '  UserKnownHostsFile ~/.ssh/kh_box', 'Host gate', '  UserKnownHostsFile ~/.ssh/kh_gate', '  HostKeyAlias gate-alias', '  StrictHostKeyChecking accept-new'], { host: 'box' });
    expect(target.knownHosts).toBe(`${HOME}/.ssh/kh_box`);
    expect(target.ssh.acceptNewHostKey).toBe(false);
    expect(target.ssh.jumps[0]).toMatchObject({ knownHosts: `${HOME}/.ssh/kh_gate`, extraKnownHosts: ['/etc/ssh/ssh_known_hosts'], hostKeyAlias: 'gate-alias', acceptNewHostKey: true });
  });

  it('refuses (exit 3 at connect) what ssh would do differently, naming file, line and keyword; the bastion\'s too', () => {
    expect(resolve(['Host box', '  StrictHostKeyChecking no'], { host: 'box' }).ssh.refusals).toEqual([
      `${CTX.configFile} line 2: StrictHostKeyChecking no: ssh would connect to a host whose key is unknown or changed; apply-ws-fix never does (use accept-new or yes)`,
    ]);
    expect(resolve(['Host box', '  ProxyJump gate', 'Host gate', '  BindAddress 10.0.0.1'], { host: 'box' }).ssh.refusals).toEqual([
      `${CTX.configFile} line 4: BindAddress 10.0.0.1: ssh would connect from that local address; apply-ws-fix does not support it`,
    ]);
    expect(resolve(['Match exec "test -e /x"', '  Port 2'], { host: 'box' }).ssh.refusals[0]).toMatch(/line 1: Match exec "test -e \/x": ssh would run this command to decide; apply-ws-fix never runs it/);
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

describe('loadTarget: Include, the system config, and ssh -G as referee', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'target-load-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const env = { HOME: scratch, PATH: process.env['PATH'] ?? '/usr/bin:/bin' };

  it('a relative Include is read from ~/.ssh, and wins over a later Host * (the issue\'s reproduction)', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(scratch, '.ssh', 'inc.d'), { recursive: true });
    writeFileSync(join(scratch, '.ssh', 'inc.d', 'prod.conf'), 'Host prod\n  Port 2342\n');
    writeFileSync(join(scratch, '.ssh', 'config'), 'Include inc.d/prod.conf\nHost *\n  Port 2341\n');
    const target = await loadTarget({ host: 'prod' }, DEFAULTS, env, { globalKnownHosts: [], systemConfig: join(scratch, 'no-system-config') });
    expect(target.port).toBe(2342);
    expect(target.ssh.sources?.['port']).toBe(`ssh-config ${join(scratch, '.ssh', 'inc.d', 'prod.conf')} line 2`);
  });

  it('the system config is read after the user\'s, as ssh reads it (first value wins)', async () => {
    const system = join(scratch, 'ssh_config');
    writeFileSync(system, 'Host *\n  User fromsystem\n  Port 2341\n');
    const target = await loadTarget({ host: 'prod' }, DEFAULTS, env, { globalKnownHosts: [], systemConfig: system, ssh: false });
    expect(target).toMatchObject({ port: 2342, user: 'fromsystem' });
    expect(target.ssh.configFiles).toEqual([join(scratch, '.ssh', 'config'), system]);
  });

  it('ssh -G is not asked when HOME is not the home ssh reads, and says why', async () => {
    const target = await loadTarget({ host: 'prod' }, DEFAULTS, env, { globalKnownHosts: [], systemConfig: join(scratch, 'none') });
    expect(target.ssh.openssh).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/HOME .* is not your home directory in the password database/) });
  });

  it('when ssh -G disagrees, the disagreement is a refusal naming the keyword and both values', async () => {
    const { userInfo } = await import('node:os');
    const { chmodSync } = await import('node:fs');
    const fake = join(scratch, 'fake-ssh');
    writeFileSync(fake, '#!/bin/sh\nprintf "hostname 10.9.9.9\\nuser root\\nport 22\\nidentitiesonly no\\nhashknownhosts no\\nstricthostkeychecking ask\\nuserknownhostsfile %s/.ssh/known_hosts %s/.ssh/known_hosts2\\nglobalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\\n" "$HOME" "$HOME"\n');
    chmodSync(fake, 0o755);
    const config = join(scratch, 'explicit_config');
    writeFileSync(config, 'Host prod\n  HostName 10.1.1.1\n');
    const home = userInfo().homedir;
    const target = await loadTarget({ host: 'prod', sshConfig: config }, DEFAULTS, { ...env, HOME: home }, { globalKnownHosts: [], ssh: fake });
    expect(target.ssh.openssh?.status).toBe('differs');
    expect(target.ssh.refusals.join('\n')).toContain('Host prod: HostName: apply-ws-fix reads "10.1.1.1", ssh -G says "10.9.9.9"');
  });

  it('when ssh -G agrees with a real ssh, nothing is refused', async () => {
    const { userInfo } = await import('node:os');
    const { execFileSync } = await import('node:child_process');
    let ssh: string | undefined;
    try {
      ssh = execFileSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).trim();
    } catch {
      ssh = undefined;
    }
    if (ssh === undefined || ssh === '') return expect(process.env['CI'], 'ssh is needed in CI').toBeFalsy();
    const config = join(scratch, 'agreeing_config');
    writeFileSync(config, 'Host prod\n  HostName 10.1.1.1\n  ProxyJump ops@gate:2201\nHost gate\n  IdentityFile ~/.ssh/gate_%r\n');
    const target = await loadTarget({ host: 'prod', sshConfig: config }, DEFAULTS, { ...env, HOME: userInfo().homedir }, { globalKnownHosts: [] });
    expect(target.ssh.openssh).toMatchObject({ status: 'agrees', hops: 2 });
    expect(target.ssh.refusals).toEqual([]);
  });
});

describe('loadTarget: a ~/.ssh/config others can write', () => {
  it('is refused, as ssh refuses it (exit 64 naming the file, with the chmod)', async () => {
    const { chmodSync, mkdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'target-perm-'));
    try {
      mkdirSync(join(dir, '.ssh'));
      const config = join(dir, '.ssh', 'config');
      writeFileSync(config, 'Host box\n  Port 2200\n');
      chmodSync(config, 0o666);
      const error = await loadTarget({ host: 'box' }, DEFAULTS, { HOME: dir }, { ssh: false, systemConfig: join(dir, 'none') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toBe(`bad owner or permissions on ${config}: ssh refuses it too (it must be yours or root's, and writable by no one else)`);
      chmodSync(config, 0o600);
      await expect(loadTarget({ host: 'box' }, DEFAULTS, { HOME: dir }, { ssh: false, systemConfig: join(dir, 'none') })).resolves.toMatchObject({ port: 2200 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
