// The SSH flags as the CLI parses them: a flag given is told from a default, so ~/.ssh/config fills in only the rest.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

const home = mkdtempSync(join(tmpdir(), 'args-ssh-test-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
mkdirSync(join(home, '.ssh'));
writeFileSync(
  join(home, '.ssh', 'config'),
  ['Host box', '  HostName 10.0.0.5', '  User deploy', '  Port 2222', '  IdentityFile ~/.ssh/box_key', '  ProxyJump ops@gate:2201', 'Host *', '  HostName fixed.example.com', ''].join('\n'),
);

const penv = { env: { HOME: home }, interactive: false, faultNames: ['build-fails'], version: '0.1.0' };
const parse = (argv: string[]): Promise<Command> => parseArgs([...argv, '--dry-run'], penv);
const optionsOf = async (argv: string[]) => {
  const command = await parse(argv);
  if (command.kind !== 'run') throw new Error(`expected a run, got ${command.kind}`);
  return command.options;
};

describe('parseArgs with an ssh config', () => {
  it('--host box: HostName, User, Port, IdentityFile and ProxyJump from ~/.ssh/config', async () => {
    const options = await optionsOf(['--host', 'box']);
    expect(options).toMatchObject({ host: '10.0.0.5', user: 'deploy', port: 2222, identity: undefined, knownHosts: join(home, '.ssh', 'known_hosts') });
    expect(options.ssh).toMatchObject({ alias: 'box', identityFiles: [join(home, '.ssh', 'box_key')], acceptNewHostKey: false });
    expect(options.ssh?.jumps).toMatchObject([{ label: 'ops@gate:2201', host: 'fixed.example.com', port: 2201, user: 'ops', identityFiles: [] }]);
  });

  it('explicit --port, --user and --identity win over the config', async () => {
    const options = await optionsOf(['--host', 'box', '--port', '22', '--user', 'jnxmas', '--identity', '~/k']);
    expect(options).toMatchObject({ host: '10.0.0.5', port: 22, user: 'jnxmas', identity: join(home, 'k') });
    expect(options.ssh?.identityFiles).toEqual([]);
  });

  it('with no --host the runbook\'s host is looked up too (here Host * renames it), with the runbook\'s user and port', async () => {
    expect(await optionsOf([])).toMatchObject({ host: 'fixed.example.com', user: 'jnxmas', port: 22 });
  });

  it('--ssh-config none reads nothing; --known-hosts is the only file; --accept-new-host-key is passed on', async () => {
    const options = await optionsOf(['--host', 'box', '--ssh-config', 'none', '--known-hosts', '~/kh', '--accept-new-host-key']);
    expect(options).toMatchObject({ host: 'box', user: 'jnxmas', port: 22, knownHosts: join(home, 'kh') });
    expect(options.ssh).toMatchObject({ extraKnownHosts: [], acceptNewHostKey: true, jumps: [] });
  });

  it('a hostile --host is refused before the config could rename it (exit 64)', async () => {
    const error = await parse(['--host=-oProxyCommand=touch /tmp/x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/--host/);
  });

  it('a bad --port is a usage error, and --demo refuses the SSH flags its fake host replaces', async () => {
    await expect(parse(['--host', 'box', '--port', '0'])).rejects.toThrow(/--port/);
    await expect(parseArgs(['--demo', '--ssh-config', 'x'], penv)).rejects.toThrow(/drop --ssh-config/);
    await expect(parseArgs(['--demo', '--accept-new-host-key'], penv)).rejects.toThrow(/drop --accept-new-host-key/);
  });

  it('the demo reads no ssh config', async () => {
    const command = await parseArgs(['--demo'], penv);
    expect(command).toMatchObject({ kind: 'demo', options: { host: 'vaettir.locki.io', user: 'jnxmas', port: 22 } });
    expect(command.kind === 'demo' && command.options.ssh).toBeFalsy();
  });

  it('--help shows where the SSH values come from when not given', async () => {
    const command = await parseArgs(['--help'], penv);
    const text = command.kind === 'help' ? command.text : '';
    for (const part of ['--ssh-config', '--accept-new-host-key', "the ssh config's User, else jnxmas", '~/.ssh/known_hosts, known_hosts2']) expect(text).toContain(part);
  });
});
