// --print-config (issue 13 item 9, issue 15): every setting with its value and where it came from, the ssh config's
// included; ssh-config, concurrency and hosts-file shown too; --json gives the same as one JSON document.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';

const home = mkdtempSync(join(tmpdir(), 'print-config-test-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
mkdirSync(join(home, '.ssh', 'inc.d'), { recursive: true });
const config = join(home, '.ssh', 'config');
const included = join(home, '.ssh', 'inc.d', 'box.conf');
writeFileSync(included, 'Host box\n  Port 2342\n');
writeFileSync(
  config,
  ['Include inc.d/*.conf', 'Host box', '  HostName 10.0.0.5', '  IdentityFile ~/.ssh/box_key', '  ProxyJump ops@gate:2201', '  HostKeyAlias box-alias', 'Host gate', '  UserKnownHostsFile ~/.ssh/kh_gate', 'Host refused', '  StrictHostKeyChecking no', ''].join('\n'),
);

const print = async (argv: string[], env: Record<string, string> = {}): Promise<string> => {
  const cwd = mkdtempSync(join(tmpdir(), 'print-config-cwd-'));
  const command = await parseArgs([...argv, '--print-config'], { env: { HOME: home, ...env }, cwd, interactive: false, faultNames: [], version: '0.1.0' });
  rmSync(cwd, { recursive: true, force: true });
  if (command.kind !== 'print-config') throw new Error(`expected print-config, got ${command.kind}`);
  return command.text;
};

describe('--print-config', () => {
  it('an ssh-config HostName is "ssh-config FILE line N", not "flag"; its Port is the included file\'s line, not "default"', async () => {
    const text = await print(['--host', 'box']);
    expect(text).toMatch(new RegExp(`^host +10\\.0\\.0\\.5 +ssh-config ${config} line 3 \\(HostName of box\\), alias from flag$`, 'm'));
    expect(text).toMatch(/^alias +box +flag$/m);
    expect(text).toMatch(new RegExp(`^port +2342 +ssh-config ${included} line 2$`, 'm'));
    expect(text).toMatch(/^user +jnxmas +default \(runbook\)$/m);
    expect(text).toMatch(new RegExp(`^identity-files +${home}/\\.ssh/box_key +ssh-config ${config} line 4$`, 'm'));
    expect(text).toMatch(new RegExp(`^jumps +ops@gate:2201 \\(ops@gate:2201; known_hosts ${home}/\\.ssh/kh_gate /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\\) +ssh-config ${config} line 5$`, 'm'));
    expect(text).toMatch(new RegExp(`^host-key-alias +box-alias +ssh-config ${config} line 6$`, 'm'));
    expect(text).toMatch(new RegExp(`^known-hosts +${home}/\\.ssh/known_hosts, ${home}/\\.ssh/known_hosts2, /etc/ssh/ssh_known_hosts, /etc/ssh/ssh_known_hosts2 +default`, 'm'));
    expect(text).toMatch(/^openssh-check +skipped: HOME .* is not your home directory/m);
  });

  it('shows ssh-config, concurrency and hosts-file, with their sources', async () => {
    const hostsFile = join(home, 'hosts.txt');
    writeFileSync(hostsFile, 'box\n');
    const text = await print(['--hosts-file', hostsFile, '--ssh-config', config], { APPLY_WS_FIX_CONCURRENCY: '7' });
    expect(text).toMatch(new RegExp(`^ssh-config +${config} +flag$`, 'm'));
    expect(text).toMatch(/^concurrency +7 +env APPLY_WS_FIX_CONCURRENCY$/m);
    expect(text).toMatch(new RegExp(`^hosts-file +${hostsFile} +flag$`, 'm'));
    const defaults = await print(['--host', 'box']);
    expect(defaults).toMatch(/^ssh-config +~\/\.ssh\/config, then \/etc\/ssh\/ssh_config +default \(as ssh reads them\)$/m);
    expect(defaults).toMatch(/^concurrency +5 +default$/m);
    expect(defaults).toMatch(/^hosts-file +\(none\) +default \(none\)$/m);
  });

  it('a config the run would refuse says so, with file, line and keyword', async () => {
    const text = await print(['--host', 'refused']);
    expect(text).toMatch(new RegExp(`^refused +${config} line 10: StrictHostKeyChecking no: .* +ssh-config: a run refuses to connect \\(exit 3\\)$`, 'm'));
  });

  it('--json: one JSON document with every value and its source', async () => {
    const printed = JSON.parse(await print(['--host', 'box', '--json'])) as { settings: Record<string, { value: unknown; source: string }>; runs: { host: string; settings: Record<string, { value: unknown; source: string }> }[] };
    expect(printed.settings['concurrency']).toEqual({ value: 5, source: 'default' });
    expect(printed.runs).toHaveLength(1);
    const run = printed.runs[0]!;
    expect(run.host).toBe('box');
    expect(run.settings['host']).toEqual({ value: '10.0.0.5', source: `ssh-config ${config} line 3 (HostName of box), alias from flag` });
    expect(run.settings['port']).toEqual({ value: 2342, source: `ssh-config ${included} line 2` });
    expect(run.settings['identity-files']).toEqual({ value: [`${home}/.ssh/box_key`], source: `ssh-config ${config} line 4` });
    expect(run.settings['refused']).toMatchObject({ value: [] });
    expect(run.settings['config-notes']).toMatchObject({ value: [] });
  });
});
