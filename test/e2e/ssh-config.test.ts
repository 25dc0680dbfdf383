// ~/.ssh/config, default key files and default known_hosts against real OpenSSH: the built CLI as an operator with a
// config runs it (`--host box`), explicit flags winning over the config, and an encrypted key whose passphrase never
// shows in any output.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { cliMissing, explain, staleBuildWarning, type CliResult } from './cli.js';
import { realHostPrerequisites, startRealHost, type RealHost } from './harness/real-host.js';
import { freePort, mustRun } from './harness/system.js';
import { changingDockerCalls, expectBrokenHost } from './host-state.js';
import { cliHome, runCliIn, type CliHome } from './ssh-home.js';
import { startAgent, type Agent } from '../transport/key-helpers.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e ssh config tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

const PASSPHRASE = 'e2e passphrase, never printed';

describe.skipIf(skip)('apply-ws-fix (built CLI) with ~/.ssh/config against real OpenSSH', () => {
  let host: RealHost;
  let home: CliHome;
  const outputs: string[] = [];

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    // A user of its own, so this file never waits for (or blocks) another e2e file's host.
    host = await startRealHost({ user: 'awf-e2e-sshcfg' });
  });
  afterAll(async () => {
    await host?.close();
  });
  beforeEach(() => {
    home?.remove();
    home = cliHome();
  });

  // The flags a config cannot give: what to fix and how long to wait.
  const runbookFlags = () => ['--url', host.publicUrl, '--settle', '0.5', '--start-timeout', '15', '--connect-timeout', '5'];
  const cli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
    const r = await runCliIn(home, [...args, ...runbookFlags(), '--json'], env);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const boxBlock = (extra: string[] = []) => ['Host box', '  HostName 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, ...extra.map((line) => `  ${line}`), ''].join('\n');
  const knownHostsText = () => readFileSync(host.knownHostsPath, 'utf8');

  test('--host box: HostName, Port, User, IdentityFile and UserKnownHostsFile from ~/.ssh/config (a dry run connects)', async () => {
    const knownHosts = home.write('box_known_hosts', knownHostsText());
    home.write('config', boxBlock([`IdentityFile ${host.privateKeyPath}`, `UserKnownHostsFile ${knownHosts}`]));
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.report).toMatchObject({ host: '127.0.0.1', port: host.port, user: host.user, outcome: 'dry-run' });
  });

  test('no IdentityFile and no known_hosts setting: ~/.ssh/id_ed25519 and ~/.ssh/known_hosts, as ssh reads them', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts', knownHostsText());
    home.write('config', boxBlock());
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
  });

  test('the key may be in ~/.ssh/known_hosts2 only', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts2', knownHostsText());
    home.write('config', boxBlock());
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
  });

  test('explicit flags win over the config: --user and --port are used, not the config\'s', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts', knownHostsText());
    home.write('config', boxBlock());
    const since = Date.now();
    const asOther = await cli(['--host', 'box', '--user', 'nobody', '--dry-run']);
    expect(asOther.exitCode, explain(asOther)).toBe(3);
    expect(asOther.report?.error?.code).toBe('auth');
    expect(asOther.report?.error?.message).toMatch(/authentication as nobody failed/);
    const closed = await freePort();
    const elsewhere = await cli(['--host', 'box', '--port', String(closed), '--dry-run']);
    expect(elsewhere.exitCode, explain(elsewhere)).toBe(3);
    expect(elsewhere.report).toMatchObject({ port: closed, error: { code: 'connect-refused' } });
    expect(changingDockerCalls(host, since)).toEqual([]);
  });

  test('--ssh-config FILE replaces ~/.ssh/config; --ssh-config none reads no config at all', async () => {
    const knownHosts = home.write('kh', knownHostsText());
    home.copy(host.privateKeyPath, 'id_ed25519');
    const closed = await freePort();
    home.write('config', `Host 127.0.0.1\n  Port ${closed}\n`);
    const other = home.write('other_config', ['Host 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, `  IdentityFile ${host.privateKeyPath}`, `  UserKnownHostsFile ${knownHosts}`, ''].join('\n'));
    const byDefault = await cli(['--host', '127.0.0.1', '--dry-run']);
    expect(byDefault.report, explain(byDefault)).toMatchObject({ port: closed, error: { code: 'connect-refused' } });
    const r = await cli(['--host', '127.0.0.1', '--ssh-config', other, '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
    // Only loopback is ever dialled: with no config, the runbook's port 22 and user on 127.0.0.1.
    const none = await cli(['--host', '127.0.0.1', '--ssh-config', 'none', '--dry-run']);
    expect(none.exitCode, explain(none)).toBe(3);
    expect(none.report).toMatchObject({ port: 22, user: 'jnxmas' });
  });

  test('a broken config line is a usage error (exit 64) naming the file and line; nothing connects', async () => {
    const config = home.write('config', 'Host box\n  Port eighty\n');
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(64);
    expect(r.stderr).toContain(`${config} line 2: Port "eighty"`);
  });

  describe('an encrypted default key', () => {
    beforeEach(async () => {
      const key = home.copy(host.privateKeyPath, 'id_ed25519');
      await mustRun('ssh-keygen', ['-q', '-p', '-a', '2', '-P', '', '-N', PASSPHRASE, '-f', key]);
      home.write('known_hosts', knownHostsText());
      home.write('config', boxBlock());
    });

    test('opens with APPLY_WS_FIX_PASSPHRASE', async () => {
      const r = await cli(['--host', 'box', '--dry-run'], { APPLY_WS_FIX_PASSPHRASE: PASSPHRASE });
      expect(r.exitCode, explain(r)).toBe(0);
    });

    test('without a passphrase and without a terminal: exit 3 saying how to give one', async () => {
      const r = await cli(['--host', 'box', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error).toMatchObject({ code: 'key-encrypted' });
      expect(r.report?.error?.remedy).toMatch(/APPLY_WS_FIX_PASSPHRASE/);
    });

    test('a wrong passphrase: exit 3 with the remedy, before any SSH login', async () => {
      const before = readFileSync(host.logs.sshd, 'utf8').split('Accepted publickey').length;
      const r = await cli(['--host', 'box', '--dry-run'], { APPLY_WS_FIX_PASSPHRASE: `${PASSPHRASE} (wrong)` });
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error).toMatchObject({ code: 'key-passphrase' });
      expect(readFileSync(host.logs.sshd, 'utf8').split('Accepted publickey').length).toBe(before);
    });
  });

  // Issue 15: the tool reaches the host, port, user, keys, route and host-key files ssh would reach, or refuses.
  describe('as OpenSSH reads the config (issue 15)', () => {
    let authorizedKeys = '';
    let closed = 0;
    beforeAll(async () => {
      authorizedKeys = readFileSync(join(host.home, '.ssh', 'authorized_keys'), 'utf8');
      closed = await freePort();
    });
    afterEach(() => {
      // Back to the one authorized key, keeping the file's owner and mode (sshd's StrictModes).
      writeFileSync(join(host.home, '.ssh', 'authorized_keys'), authorizedKeys);
    });
    const sshdLogSince = (): (() => string) => {
      const start = readFileSync(host.logs.sshd, 'utf8').length;
      return () => readFileSync(host.logs.sshd, 'utf8').slice(start);
    };
    const fingerprintOf = (publicKeyFile: string): string => {
      const blob = Buffer.from(readFileSync(publicKeyFile, 'utf8').trim().split(/\s+/)[1] ?? '', 'base64');
      return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    };
    const keygen = async (name: string, type = 'ed25519'): Promise<string> => {
      const path = join(home.ssh, name);
      await mustRun('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
      return path;
    };

    test('Include before a Host * block: the included Port wins, as in ssh (the issue\'s reproduction)', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      home.write('known_hosts', knownHostsText());
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(home.ssh, 'inc.d'));
      home.write('inc.d/prod.conf', ['Host prod', '  HostName 127.0.0.1', `  Port ${host.port}`, ''].join('\n'));
      home.write('config', ['Include inc.d/prod.conf', 'Host *', `  Port ${closed}`, `  User ${host.user}`, ''].join('\n'));
      const r = await cli(['--host', 'prod', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report).toMatchObject({ host: '127.0.0.1', port: host.port, user: host.user });
    });

    test('Include inside a Host block gives that host its user; Match host applies to the HostName', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      home.write('known_hosts', knownHostsText());
      home.write('prod-user.conf', `User ${host.user}\n`);
      home.write('config', ['Host prod', '  HostName 127.0.0.1', '  Include prod-user.conf', 'Match host 127.0.0.1', `  Port ${host.port}`, 'Host *', '  User nobody', `  Port ${closed}`, ''].join('\n'));
      const r = await cli(['--host', 'prod', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report).toMatchObject({ port: host.port, user: host.user });
    });

    test('ProxyCommand is run locally as the socket; ProxyCommand none cancels a Host * ProxyJump', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      home.write('known_hosts', knownHostsText());
      const pipe = home.write('pipe.mjs', "import { connect } from 'node:net';\nconst s = connect(Number(process.argv[3]), process.argv[2]);\nprocess.stdin.pipe(s); s.pipe(process.stdout);\ns.on('close', () => process.exit(0));\n");
      home.write('config', ['Host prod', '  HostName 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, `  ProxyCommand ${process.execPath} ${pipe} %h %p`, ''].join('\n'));
      const viaCommand = await cli(['--host', 'prod', '--dry-run']);
      expect(viaCommand.exitCode, explain(viaCommand)).toBe(0);
      expect(viaCommand.stderr).toContain(`via ProxyCommand ${process.execPath} …`);
      expect(viaCommand.stderr).not.toContain(pipe);
      home.write('config', ['Host prod', '  HostName 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, '  ProxyCommand none', 'Host *', `  ProxyJump 127.0.0.1:${closed}`, ''].join('\n'));
      const direct = await cli(['--host', 'prod', '--dry-run']);
      expect(direct.exitCode, explain(direct)).toBe(0);
      expect(direct.stderr).not.toContain(' via ');
    });

    test('HostKeyAlias: the alias\'s known key is the one checked (a different key there is refused as changed)', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      const rightKey = knownHostsText().trim().split(/\s+/).slice(1, 3).join(' ');
      const wrongKey = readFileSync(host.mismatchedKnownHostsPath, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ');
      home.write('config', [boxBlock(['HostKeyAlias prod-alias'])].join('\n'));
      home.write('known_hosts', `${knownHostsText().trim()}\nprod-alias ${wrongKey}\n`);
      const changed = await cli(['--host', 'box', '--dry-run']);
      expect(changed.exitCode, explain(changed)).toBe(3);
      expect(changed.report?.error).toMatchObject({ code: 'host-key-changed', message: expect.stringContaining('prod-alias') });
      home.write('known_hosts', `prod-alias ${rightKey}\n`);
      const ok = await cli(['--host', 'box', '--dry-run']);
      expect(ok.exitCode, explain(ok)).toBe(0);
    });

    test('UserKnownHostsFile none trusts no user file; GlobalKnownHostsFile is the file read', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      home.write('known_hosts', knownHostsText());
      home.write('config', boxBlock(['UserKnownHostsFile none', `GlobalKnownHostsFile ${join(home.ssh, 'nothing-here')}`]));
      const none = await cli(['--host', 'box', '--dry-run']);
      expect(none.exitCode, explain(none)).toBe(3);
      expect(none.report?.error?.code).toBe('host-key-unknown');
      const global = home.write('global_known_hosts', knownHostsText());
      home.write('config', boxBlock(['UserKnownHostsFile none', `GlobalKnownHostsFile ${global}`]));
      const ok = await cli(['--host', 'box', '--dry-run']);
      expect(ok.exitCode, explain(ok)).toBe(0);
    });

    test('StrictHostKeyChecking accept-new in the config records a new host (hashed with HashKnownHosts yes), and says why', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      const config = home.write('config', boxBlock(['StrictHostKeyChecking accept-new', 'HashKnownHosts yes']));
      const r = await cli(['--host', 'box', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.stderr).toContain(`(ssh-config ${config} line 5: StrictHostKeyChecking accept-new)`);
      const recorded = readFileSync(join(home.ssh, 'known_hosts'), 'utf8');
      expect(recorded).toMatch(/^\|1\|/);
      // OpenSSH's own tool finds it under the name ssh looks up.
      const found = await mustRun('ssh-keygen', ['-F', `[127.0.0.1]:${host.port}`, '-f', join(home.ssh, 'known_hosts')]);
      expect(found.stdout).toContain('|1|');
    });

    test('StrictHostKeyChecking no is refused before any connection (exit 3), naming file, line and keyword', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      const config = home.write('config', boxBlock(['StrictHostKeyChecking no']));
      const log = sshdLogSince();
      const r = await cli(['--host', 'box', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error).toMatchObject({ code: 'ssh-config-unsupported', message: expect.stringContaining(`${config} line 5: StrictHostKeyChecking no`) });
      expect(log()).not.toMatch(/Connection from 127\.0\.0\.1/);
    });

    test('with HOME the home ssh reads, OpenSSH\'s ssh -G is asked about the host and agrees; --print-config says so', async () => {
      const { userInfo } = await import('node:os');
      const key = home.copy(host.privateKeyPath, 'key');
      const knownHosts = home.write('kh', knownHostsText());
      // Absolute paths only, and -F (--ssh-config): nothing of the tester's own ~/.ssh is read or written.
      const config = home.write('explicit_config', boxBlock([`IdentityFile ${key}`, `UserKnownHostsFile ${knownHosts}`, 'IdentitiesOnly yes']));
      const asOperator = { HOME: userInfo().homedir };
      const printed = await runCliIn(home, ['--host', 'box', '--ssh-config', config, '--print-config', '--json'], asOperator);
      expect(printed.exitCode, printed.stderr).toBe(0);
      const settings = (JSON.parse(printed.stdout) as { runs: { settings: Record<string, { value: unknown }> }[] }).runs[0]!.settings;
      expect(settings['openssh-check']!.value).toBe('ssh -G agrees (1 hop(s))');
      const r = await cli(['--host', 'box', '--ssh-config', config, '--dry-run'], asOperator);
      expect(r.exitCode, explain(r)).toBe(0);
    });

    test('a portless known_hosts entry with the host\'s very key: accepted for another port, by ssh and by the tool alike', async () => {
      home.copy(host.privateKeyPath, 'id_ed25519');
      const [, type, data] = knownHostsText().trim().split(/\s+/);
      const portless = home.write('known_hosts', `127.0.0.1 ${type} ${data}\n`);
      const bySsh = await host.ssh('true', { knownHostsPath: portless });
      expect(bySsh.code, bySsh.stderr).toBe(0);
      home.write('config', boxBlock());
      const r = await cli(['--host', 'box', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(0);
    });

    describe('keys', () => {
      let agent: Agent;
      beforeAll(async () => {
        agent = await startAgent();
      });
      afterAll(() => agent?.stop());

      test('IdentitiesOnly yes: an authorized but restricted agent key is not used; the named key logs in, as with ssh', async () => {
        const restricted = await keygen('restricted');
        appendFileSync(join(host.home, '.ssh', 'authorized_keys'), `restrict,command="/bin/false" ${readFileSync(`${restricted}.pub`, 'utf8')}`);
        agent.add(restricted);
        const named = home.copy(host.privateKeyPath, 'named_key');
        home.write('named_key.pub', `${host.publicKey.trim()}\n`);
        home.write('known_hosts', knownHostsText());
        // Without IdentitiesOnly the agent's key goes first, and sshd takes it (with its restrictions), as with ssh.
        home.write('config', boxBlock([`IdentityFile ${named}`]));
        const before = sshdLogSince();
        const agentFirst = await cli(['--host', 'box', '--dry-run'], { SSH_AUTH_SOCK: agent.socket });
        expect(agentFirst.exitCode, explain(agentFirst)).toBe(3);
        // (A fingerprint holds + and /: escaped for the pattern.)
        expect(before()).toMatch(new RegExp(`Accepted publickey for ${host.user} .*${fingerprintOf(`${restricted}.pub`).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
        home.write('config', boxBlock(['IdentitiesOnly yes', `IdentityFile ${named}`]));
        const log = sshdLogSince();
        const r = await cli(['--host', 'box', '--dry-run'], { SSH_AUTH_SOCK: agent.socket });
        expect(r.exitCode, explain(r)).toBe(0);
        expect(log()).toContain(`Accepted publickey for ${host.user}`);
        expect(log()).toContain(fingerprintOf(`${named}.pub`));
        expect(log()).not.toContain(fingerprintOf(`${restricted}.pub`));
      });

      test('an IdentityFile listed twice is offered once', async () => {
        const wrong = await keygen('wrong');
        home.copy(host.privateKeyPath, 'id_ed25519');
        home.write('known_hosts', knownHostsText());
        home.write('config', boxBlock([`IdentityFile ${wrong}`, `IdentityFile ${wrong}`, 'IdentityFile ~/.ssh/wrong', `IdentityFile ${join(home.ssh, 'id_ed25519')}`]));
        const log = sshdLogSince();
        const r = await cli(['--host', 'box', '--dry-run']);
        expect(r.exitCode, explain(r)).toBe(0);
        expect(log().split(fingerprintOf(`${wrong}.pub`)).length - 1).toBe(1);
      });

      for (const type of ['ed25519', 'rsa'] as const) {
        test(`a ${type} certificate made with ssh-keygen -s (the key itself is not authorized): KEY-cert.pub beside the key, and CertificateFile`, async () => {
          const ca = await keygen(`ca_${type}`);
          const key = await keygen(`cert_${type}`, type);
          await mustRun('ssh-keygen', ['-q', '-s', ca, '-I', 'awf-e2e', '-n', host.user, '-V', '-5m:+1h', `${key}.pub`]);
          appendFileSync(join(host.home, '.ssh', 'authorized_keys'), `cert-authority ${readFileSync(`${ca}.pub`, 'utf8')}`);
          home.write('known_hosts', knownHostsText());
          home.write('config', boxBlock([`IdentityFile ${key}`, 'IdentitiesOnly yes']));
          const log = sshdLogSince();
          const beside = await cli(['--host', 'box', '--dry-run']);
          expect(beside.exitCode, explain(beside)).toBe(0);
          expect(log()).toMatch(new RegExp(`Accepted publickey for ${host.user} .*${type === 'rsa' ? 'RSA' : 'ED25519'}-CERT .*ID awf-e2e`));
          // Named with CertificateFile under another name: the same login.
          const { renameSync } = await import('node:fs');
          renameSync(`${key}-cert.pub`, join(home.ssh, 'my.cert'));
          home.write('config', boxBlock([`IdentityFile ${key}`, `CertificateFile ${join(home.ssh, 'my.cert')}`, 'IdentitiesOnly yes']));
          const named = await cli(['--host', 'box', '--dry-run']);
          expect(named.exitCode, explain(named)).toBe(0);
        });
      }

      for (const type of ['ed25519', 'rsa'] as const) {
        test(`a ${type} certificate held by the ssh-agent (ssh-add loads KEY-cert.pub with KEY): the agent signs the certificate login`, async () => {
          const ca = await keygen(`agent_ca_${type}`);
          const key = await keygen(`agent_cert_${type}`, type);
          await mustRun('ssh-keygen', ['-q', '-s', ca, '-I', `awf-agent-${type}`, '-n', host.user, '-V', '-5m:+1h', `${key}.pub`]);
          appendFileSync(join(host.home, '.ssh', 'authorized_keys'), `cert-authority ${readFileSync(`${ca}.pub`, 'utf8')}`);
          const own = await startAgent();
          try {
            own.add(key);
            const { rmSync } = await import('node:fs');
            // Only the agent has it now: no key file, no certificate file.
            rmSync(key);
            rmSync(`${key}-cert.pub`);
            home.write('known_hosts', knownHostsText());
            home.write('config', boxBlock([]));
            const log = sshdLogSince();
            const r = await cli(['--host', 'box', '--dry-run'], { SSH_AUTH_SOCK: own.socket });
            expect(r.exitCode, explain(r)).toBe(0);
            expect(log()).toMatch(new RegExp(`Accepted publickey for ${host.user} .*${type === 'rsa' ? 'RSA' : 'ED25519'}-CERT .*ID awf-agent-${type}`));
          } finally {
            own.stop();
          }
        });
      }

      test('a certificate for another principal: exit 3, and the message shows the certificate was offered', async () => {
        const ca = await keygen('ca_other');
        const key = await keygen('cert_other');
        await mustRun('ssh-keygen', ['-q', '-s', ca, '-I', 'awf-e2e-other', '-n', 'someone-else', '-V', '-5m:+1h', `${key}.pub`]);
        appendFileSync(join(host.home, '.ssh', 'authorized_keys'), `cert-authority ${readFileSync(`${ca}.pub`, 'utf8')}`);
        home.write('known_hosts', knownHostsText());
        home.write('config', boxBlock([`IdentityFile ${key}`, 'IdentitiesOnly yes']));
        const r = await cli(['--host', 'box', '--dry-run']);
        expect(r.exitCode, explain(r)).toBe(3);
        expect(r.report?.error).toMatchObject({ code: 'auth', message: expect.stringContaining(`${key}-cert.pub (certificate)`) });
      });
    });
  });

  test('after all of it the host is as it was, and no passphrase is in any output', async () => {
    await expectBrokenHost(host);
    expect(outputs.length).toBeGreaterThan(10);
    for (const out of outputs) expect(out.includes('e2e passphrase'), out).toBe(false);
  });
});
