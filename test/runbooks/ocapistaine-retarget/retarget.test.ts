// The retarget runbook end to end over real SSH against the fake host: the precondition, dry-run, apply, re-run,
// --rollback, and an automatic rollback on each failing check, with .env kept byte for byte outside its one line.
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import retarget from '../../../runbooks/ocapistaine-retarget/runbook.js';
import type { RunOptions } from '../../../src/core/options.js';
import { UPSTREAMS, startFakeHost, type FakeHost } from '../../../src/fake-host/host.js';
import { websocketHandshake, websocketUrl } from '../../../src/lib/probes.js';
import { connect } from '../../fake-host/ssh-client.js';
import { changingCommands, runAgainst, snapshotFiles } from '../../helpers/fake-run.js';

const [OLD, NEW] = UPSTREAMS;
const DEAD = 'https://gone.ngrok-free.app';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const envPath = () => join(host.projectDir, '.env');
const env = () => readFile(envPath());
const params = (target?: string) => ({ dir: '~/vaettir', service: 'ocapistaine', url: 'unused', ...(target ? { 'target-url': target } : {}) });
const run = (target: string | undefined, overrides: Partial<RunOptions> = {}) => runAgainst(host, { ...overrides, params: params(target) }, {}, retarget);
const containerTarget = () => host.container()?.renderedConfig.match(/proxy_pass (\S+);/)?.[1];
const handshake = () => websocketHandshake(websocketUrl(host.publicUrl, '/_stcore/stream'), 3000);
// The WebSocket fix first: the retarget verifies the handshake, which the seed's broken config never passes.
const get502 = () => import('../../../src/lib/probes.js').then(({ httpStatus }) => httpStatus(`${host.publicUrl}/_stcore/health`, 'GET', 3000));
const withFix = async () => expect((await runAgainst(host)).report.outcome).toBe('applied');

describe('ocapistaine-retarget', () => {
  it('refuses a new upstream that does not answer from the host: exit 3, nothing changed', async () => {
    const files = await snapshotFiles(host.projectDir);
    const { report } = await run(DEAD);
    expect(report).toMatchObject({ outcome: 'could-not-start', exitCode: 3, error: { code: 'precondition-upstream' } });
    expect(report.error?.message).toContain(`the new upstream ${DEAD} does not answer from the host`);
    expect(await snapshotFiles(host.projectDir)).toEqual(files);
    expect(changingCommands(host.stats.commands)).toEqual([]);
    expect(host.stats.commands.some((c) => c.includes('curl ') && c.includes(`${DEAD}/_stcore/health`))).toBe(true);
  });

  it('refuses a URL with a path before connecting', async () => {
    const { resolveParams } = await import('../../../src/core/params.js');
    expect(() => resolveParams(retarget, { 'target-url': `${NEW}/app` })).toThrow(/no path/);
    expect(() => resolveParams(retarget, {})).toThrow(/needs --param target-url/);
    expect(resolveParams(retarget, {}, undefined, 'rollback')).not.toHaveProperty('target-url');
  });

  it('a dry-run shows the one-line diff and changes nothing', async () => {
    const files = await snapshotFiles(host.projectDir);
    const { report } = await run(NEW, { dryRun: true });
    expect(report).toMatchObject({ outcome: 'dry-run', exitCode: 0 });
    const changed = report.diff!.split('\n').filter((line) => /^[-+][^-+]/.test(line));
    expect(changed).toEqual([`-OCAPISTAINE_TARGET_URL=${OLD}`, `+OCAPISTAINE_TARGET_URL=${NEW}`]);
    expect(report.diff).not.toContain('fake-secret-token');
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([['backup-env', 'would-change'], ['write-env', 'would-change'], ['recreate', 'would-change']]);
    expect(await snapshotFiles(host.projectDir)).toEqual(files);
    expect(changingCommands(host.stats.commands)).toEqual([]);
  });

  it('applies (one line of .env, mode 600, the container and the proxy follow), re-runs as a no-op, and rolls back', async () => {
    await withFix();
    const before = await env();
    const { report } = await run(NEW);
    expect(report.error).toBeNull();
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['backup-env', 'done'], ['write-env', 'done'], ['recreate', 'done'],
      ['running', 'done'], ['env-ocapistaine_target_url', 'done'], ['proxy-pass', 'done'], ['health', 'done'], ['websocket', 'done'],
    ]);
    expect((await env()).toString()).toBe(before.toString().replace(`OCAPISTAINE_TARGET_URL=${OLD}`, `OCAPISTAINE_TARGET_URL=${NEW}`));
    expect((await stat(envPath())).mode & 0o777).toBe(0o600);
    expect(await readFile(join(host.projectDir, '.env.backup'))).toEqual(before);
    expect((await stat(join(host.projectDir, '.env.backup'))).mode & 0o777).toBe(0o600);
    expect(containerTarget()).toBe(NEW);
    const hits = host.upstreamHits.length;
    expect((await handshake()).status).toBe(101);
    expect(host.upstreamHits.slice(hits)).toEqual([NEW]);
    // The compose build never ran: only a recreate.
    expect(host.stats.commands.filter((c) => c.includes('compose build')).length).toBe(1);

    const recreations = host.container()?.recreations;
    const commands = host.stats.commands.length;
    const again = await run(NEW);
    expect(again.report).toMatchObject({ outcome: 'already-applied', exitCode: 0 });
    expect(again.report.steps.filter((s) => s.status === 'skipped').map((s) => s.id)).toEqual(['backup-env', 'write-env', 'recreate']);
    expect(changingCommands(host.stats.commands.slice(commands))).toEqual([]);
    expect(host.container()?.recreations).toBe(recreations);

    // --rollback needs no target: it undoes the journal's last applied run, planned first.
    const dry = await run(undefined, { action: 'rollback', dryRun: true });
    expect(dry.report.steps.map((s) => [s.id, s.status])).toEqual([['restore-env', 'would-change'], ['recreate-container', 'would-change']]);
    const back = await run(undefined, { action: 'rollback' });
    expect(back.report.error).toBeNull();
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(await env()).toEqual(before);
    expect((await stat(envPath())).mode & 0o777).toBe(0o600);
    expect(containerTarget()).toBe(OLD);
    expect(back.report.steps.find((s) => s.id === 'env-ocapistaine_target_url')?.detail).toBe(`OCAPISTAINE_TARGET_URL=${OLD}`);
    const twice = await run(undefined, { action: 'rollback' });
    expect(twice.report).toMatchObject({ outcome: 'nothing-to-roll-back', exitCode: 0 });
  });

  it('keeps every other byte of .env: comments, order, quoting, other secrets, CRLF, no final newline', async () => {
    await withFix();
    const original = '# tunnel\r\nOCAPISTAINE_API_TOKEN="fake-secret-token-do-not-print-7f3a9c"\r\nexport OTHER=\'x y\'\r\nOCAPISTAINE_TARGET_URL = "' + OLD + '"\r\n# end, no newline';
    await writeFile(envPath(), original);
    await chmod(envPath(), 0o600);
    const { report } = await run(NEW);
    expect(report.error).toBeNull();
    expect((await env()).toString()).toBe(original.replace(`OCAPISTAINE_TARGET_URL = "${OLD}"`, `OCAPISTAINE_TARGET_URL = "${NEW}"`));
    expect(containerTarget()).toBe(NEW);
    expect((await run(undefined, { action: 'rollback' })).report.outcome).toBe('rolled-back');
    expect((await env()).toString()).toBe(original);
  });

  it('--rollback works when the new tunnel has died since (the reason to roll back), even given the target again', async () => {
    await withFix();
    const before = await env();
    expect((await run(NEW)).report.outcome).toBe('applied');
    host.upstreams.delete(NEW);
    expect((await get502()).status).toBe(502);
    const back = await run(NEW, { action: 'rollback' });
    expect(back.report.error, JSON.stringify(back.report.error)).toBeNull();
    expect(back.report.outcome).toBe('rolled-back');
    expect(await env()).toEqual(before);
    expect((await get502()).status).toBe(200);
  });

  it('--check: healthy on the target it points at, needs the change for another (exit 4), changes nothing', async () => {
    await withFix();
    expect((await run(NEW)).report.outcome).toBe('applied');
    const commands = host.stats.commands.length;
    expect((await run(NEW, { action: 'check' })).report).toMatchObject({ outcome: 'healthy', exitCode: 0 });
    expect((await run(OLD, { action: 'check' })).report).toMatchObject({ outcome: 'needs-change', exitCode: 4 });
    expect(changingCommands(host.stats.commands.slice(commands))).toEqual([]);
  });

  it('through the built CLI with --hosts-file (the url column is the public URL): applied, then already applied', async () => {
    const { execa } = await import('execa');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { packageRoot } = await import('../../../src/paths.js');
    await withFix();
    const dir = await mkdtemp(join(tmpdir(), 'awf-hosts-'));
    const line = `${host.user}@${host.host}:${host.port} ${host.publicUrl}`;
    // A host may be named once (two runs on one host would fight over its lock): the second fleet run finds it done.
    await writeFile(join(dir, 'hosts'), `# one host, its public URL in the second column\n${line}\n`);
    const fleet = () => execa('node', [join(packageRoot(), 'dist', 'src', 'cli.js'), '--runbook', 'ocapistaine-retarget', '--hosts-file', join(dir, 'hosts'), '--concurrency', '1', '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--param', `target-url=${NEW}`, '--settle', '0.3', '--yes', '--json'], { reject: false, env: { NO_COLOR: '1' }, timeout: 90_000 });
    const outcomes: [string, string, string][] = [];
    for (const r of [await fleet(), await fleet()]) {
      expect(r.exitCode, r.stderr).toBe(0);
      outcomes.push(...(JSON.parse(r.stdout) as { outcome: string; runbook: string; url: string }[]).map((x): [string, string, string] => [x.runbook, x.outcome, x.url]));
    }
    expect(outcomes).toEqual([['ocapistaine-retarget', 'applied', host.publicUrl], ['ocapistaine-retarget', 'already-applied', host.publicUrl]]);
    expect(containerTarget()).toBe(NEW);
  });

  // Each check can fail; each failure puts .env back byte for byte and the container back on the old upstream.
  const failures: [string, string, (h: FakeHost) => Promise<void>][] = [
    // Without the WebSocket fix, so the config rolled back to is the seed's own (which crash-on-start spares).
    ['running', 'the container crash-loops on the new config', async (h) => void h.faults.add('crash-on-start')],
    ['websocket', 'the proxy lacks the WebSocket fix', async () => {}],
    ['health', 'the public URL answers 403', async (h) => void h.faults.add('forbidden')],
    ['websocket', 'handshakes never get 101', async (h) => void h.faults.add('no-handshake')],
    ['env-ocapistaine_target_url', 'the compose file pins the variable instead of reading .env', async (h) => {
      const file = join(h.projectDir, 'compose.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('OCAPISTAINE_TARGET_URL: ${OCAPISTAINE_TARGET_URL}', `OCAPISTAINE_TARGET_URL: ${OLD}`));
    }],
    ['proxy-pass', 'the template names the old upstream itself', async (h) => {
      await writeFile(h.templatePath, (await readFile(h.templatePath, 'utf8')).replace('proxy_pass ${OCAPISTAINE_TARGET_URL};', `proxy_pass ${OLD};`));
      const ssh = await connect(h);
      const built = await ssh.exec('cd ~/vaettir && docker compose build ocapistaine && docker compose --profile production --profile proxy up -d --force-recreate ocapistaine');
      ssh.end();
      expect(built.code).toBe(0);
    }],
  ];
  it.each(failures)('a failing %s check (%s) rolls the change back by itself', async (check, _why, breakIt) => {
    if (check !== 'running' && _why !== 'the proxy lacks the WebSocket fix') await withFix();
    await breakIt(host);
    const before = await env();
    const { report } = await run(NEW);
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: check }, rollback: { restored: true } });
    expect(report.rollback?.actions.map((a) => [a.id, a.status])).toEqual([['restore-env', 'done'], ['recreate-container', 'done']]);
    expect(await env()).toEqual(before);
    expect(host.container()?.renderedConfig).not.toContain(NEW);
  });
});
