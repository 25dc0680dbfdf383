import { describe, expect, it } from 'vitest';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

const env = { env: { HOME: '/home/op' }, interactive: false, faultNames: ['build-fails', 'up-fails'], version: '0.1.0' };
const parse = (argv: string[], interactive = false): Promise<Command> => parseArgs(argv, { ...env, interactive });

async function usageError(argv: string[]): Promise<UsageError> {
  const error = await parse(argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('parseArgs', () => {
  it('defaults to the seed runbook\'s host, user, dir, service and URL', async () => {
    const command = await parse(['--dry-run']);
    expect(command).toMatchObject({
      kind: 'run',
      options: { action: 'apply', dryRun: true, host: 'vaettir.locki.io', port: 22, user: 'jnxmas', params: { dir: '~/vaettir', service: 'ocapistaine', url: 'https://ocapistaine.vaettir.locki.io' }, knownHosts: '/home/op/.ssh/known_hosts' },
    });
  });

  it('takes every option', async () => {
    const command = await parse(['--host', 'h.example', '--port', '2222', '--user', 'op', '--identity', '~/k', '--known-hosts', '/tmp/kh', '--dir', '/srv/v', '--service', 'proxy', '--url', 'http://127.0.0.1:8080', '--rollback', '--yes', '--json', '--verbose', '--settle', '0.5']);
    expect(command).toMatchObject({ kind: 'run', json: true, options: { action: 'rollback', host: 'h.example', port: 2222, user: 'op', identity: '/home/op/k', knownHosts: '/tmp/kh', params: { dir: '/srv/v', service: 'proxy', url: 'http://127.0.0.1:8080' }, yes: true, verbose: true, settleMs: 500 } });
  });

  it('refuses to change a host without a terminal unless --yes (exit 64)', async () => {
    const error = await usageError(['--host', 'h.example']);
    expect(error.exitCode).toBe(64);
    expect(error.message).toMatch(/without a terminal/);
    expect(error.remedy).toMatch(/--yes/);
    await expect(parse(['--host', 'h.example'], true)).resolves.toMatchObject({ kind: 'run' });
    await expect(parse(['--host', 'h.example', '--rollback'])).rejects.toThrow(/roll back/);
  });

  it.each([
    [['--port', '0'], /--port/],
    [['--port', '65536'], /--port/],
    [['--port', 'ssh'], /--port/],
    [['--service', 'a/b'], /--service/],
    [['--service', '$(id)'], /--service/],
    [['--url', 'ftp://x'], /http/],
    [['--url', 'not a url'], /not a URL/],
    [['--url', 'https://u:p@h'], /credentials/],
    [['--host=-oProxyCommand=touch /tmp/x'], /--host/],
    [['--host', '-oProxyCommand=touch /tmp/x'], /Unknown argument/],
    [['--host', 'a b'], /--host/],
    [['--host', '$(touch /tmp/x)'], /--host/],
    [['--user', 'a;b'], /--user/],
    [['--dir', 'a\nb'], /one line/],
    [['--dir', '~root/x'], /~user/],
    [['--bogus'], /Unknown argument/],
    [['--fault', 'build-fails'], /only with --demo/],
    [['--demo', '--fault', 'nope'], /unknown fault/],
    [['--demo', '--host', 'h'], /drop --host/],
    [['--settle', '-1'], /--settle/],
  ])('refuses %j before connecting', async (argv, message) => {
    const error = await usageError([...argv, '--dry-run']);
    expect(error.message).toMatch(message);
  });

  it('--demo needs no --yes and takes faults', async () => {
    await expect(parse(['--demo', '--fault', 'build-fails,up-fails'])).resolves.toMatchObject({ kind: 'demo', faults: ['build-fails', 'up-fails'], options: { yes: true } });
  });

  it('fake-host takes a port', async () => {
    await expect(parse(['fake-host', '--port', '2200'])).resolves.toMatchObject({ kind: 'fake-host', port: 2200 });
    await expect(parse(['fake-host'])).resolves.toMatchObject({ kind: 'fake-host', port: 0 });
  });

  it('--help lists the exit codes', async () => {
    const command = await parse(['--help']);
    expect(command.kind).toBe('help');
    if (command.kind === 'help') expect(command.text).toMatch(/Exit codes:[\s\S]*64 +usage error/);
  });
});

describe('settings from the environment and a config file', () => {
  const inDir = async (config: object | undefined, extraEnv: Record<string, string>, argv: string[]) => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'awf-config-'));
    if (config) await writeFile(join(dir, 'apply-ws-fix.config.json'), JSON.stringify(config));
    return parseArgs(argv, { ...env, env: { HOME: '/home/op', ...extraEnv }, cwd: dir });
  };

  it('flags > env > file > runbook defaults', async () => {
    const command = await inDir({ host: 'file.example', user: 'fileuser', port: 2200, service: 'fromfile', sshConfig: 'none' }, { APPLY_WS_FIX_USER: 'envuser', APPLY_WS_FIX_PORT: '2300' }, ['--port', '2400', '--dry-run']);
    expect(command).toMatchObject({ kind: 'run', options: { host: 'file.example', user: 'envuser', port: 2400, params: { service: 'fromfile', dir: '~/vaettir' } } });
  });

  it('--print-config says where each value comes from', async () => {
    const command = await inDir({ host: 'file.example', 'ssh-config': 'none' }, { APPLY_WS_FIX_USER: 'envuser' }, ['--port', '2400', '--print-config']);
    expect(command.kind).toBe('print-config');
    if (command.kind !== 'print-config') return;
    expect(command.text).toMatch(/^host +file\.example +file .*apply-ws-fix\.config\.json$/m);
    expect(command.text).toMatch(/^user +envuser +env APPLY_WS_FIX_USER$/m);
    expect(command.text).toMatch(/^port +2400 +flag$/m);
    expect(command.text).toMatch(/^service +ocapistaine +default/m);
  });

  it('an unknown setting in the file is a usage error naming it', async () => {
    await expect(inDir({ hots: 'typo' }, {}, ['--dry-run'])).rejects.toThrow(/unknown setting "hots"/);
  });

  it('a file value is validated like a flag', async () => {
    await expect(inDir({ service: 'a/b', 'ssh-config': 'none' }, {}, ['--dry-run'])).rejects.toThrow(/--service/);
  });
});
