// The whole runbook over real SSH against the fake host: apply, re-run, dry-run, rollback.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { websocketHandshake, websocketUrl } from '../../src/lib/probes.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { changingCommands, runAgainst, snapshotFiles } from '../helpers/fake-run.js';

const BACKUP = 'proxy-configs/ocapistaine.conf.template.backup';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const handshake = () => websocketHandshake(websocketUrl(host.publicUrl, '/_stcore/stream'), 3000);
const template = () => readFile(host.templatePath);

describe('apply against the broken host', () => {
  it('installs the seed config byte for byte, keeps the original as the backup, and the handshake gets 101', async () => {
    expect((await handshake()).status).not.toBe(101);
    const { report } = await runAgainst(host);
    expect(report.error).toBeNull();
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0, action: 'apply' });
    expect(await template()).toEqual(DESIRED);
    expect(await readFile(join(host.projectDir, BACKUP))).toEqual(BROKEN);
    expect((await handshake()).status).toBe(101);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['backup', 'done'], ['write-template', 'done'], ['build', 'done'], ['validate', 'done'], ['deploy', 'done'],
      ['running', 'done'], ['logs', 'done'], ['rendered', 'done'], ['endpoint', 'done'], ['commit', 'skipped'], ['prune-backups', 'skipped'],
    ]);
    expect(report.steps.find((s) => s.id === 'endpoint')?.detail).toMatch(/handshake 101/);
    expect(host.stats.connections).toBe(1);
  });

  it('keeps the template mode across the atomic write', async () => {
    const { chmod, stat } = await import('node:fs/promises');
    await chmod(host.templatePath, 0o640);
    await runAgainst(host);
    expect((await stat(host.templatePath)).mode & 0o777).toBe(0o640);
    expect(await template()).toEqual(DESIRED);
  });

  it('a second run changes nothing: every change step is skipped with its reason', async () => {
    await runAgainst(host);
    const recreations = host.container()?.recreations;
    const commandsBefore = host.stats.commands.length;
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'already-applied', exitCode: 0 });
    const skipped = Object.fromEntries(report.steps.filter((s) => s.status === 'skipped').map((s) => [s.id, s.detail]));
    expect(skipped).toEqual({
      backup: 'the template already holds the new config: nothing to back up',
      'write-template': 'the template already holds the new config',
      build: 'the running container already serves the new config',
      validate: 'the running container already serves the new config',
      deploy: 'the running container already serves the new config',
      commit: 'not asked (--commit commits the change in the host\'s git repository)',
      'prune-backups': '1 backup(s), all kept: ocapistaine.conf.template.backup (--param keep-backups=N keeps the newest N)',
    });
    expect(host.container()?.recreations).toBe(recreations);
    expect(await readFile(join(host.projectDir, BACKUP))).toEqual(BROKEN);
    expect(changingCommands(host.stats.commands.slice(commandsBefore))).toEqual([]);
  });

  it('a dry-run changes no file and no container, and shows the diff', async () => {
    const files = await snapshotFiles(host.projectDir);
    const container = host.container();
    const { report, output } = await runAgainst(host, { dryRun: true }, { renderer: 'simple' });
    expect(report).toMatchObject({ outcome: 'dry-run', exitCode: 0, action: 'dry-run' });
    expect(report.steps.map((s) => s.status)).toEqual(['would-change', 'would-change', 'would-change', 'would-change', 'would-change', 'skipped', 'skipped']);
    expect(report.diff).toContain('+map $http_upgrade $connection_upgrade {');
    expect(output).toContain('+        proxy_set_header Connection $connection_upgrade;');
    expect(await snapshotFiles(host.projectDir)).toEqual(files);
    expect(host.container()).toEqual(container);
    expect(changingCommands(host.stats.commands)).toEqual([]);
  });

  it('works on a template without a trailing newline and with bytes that are not UTF-8', async () => {
    const odd = Buffer.concat([BROKEN.subarray(0, -1), Buffer.from('\n# caf\xe9 \xff', 'latin1')]);
    await writeFile(host.templatePath, odd);
    const { report } = await runAgainst(host);
    expect(report.exitCode).toBe(0);
    expect(await readFile(join(host.projectDir, BACKUP))).toEqual(odd);
    const rollback = await runAgainst(host, { action: 'rollback' });
    expect(rollback.report.exitCode).toBe(0);
    expect(await template()).toEqual(odd);
  });
});

describe('rollback', () => {
  it('puts the original back byte for byte; a second rollback has nothing to do', async () => {
    await runAgainst(host);
    const first = await runAgainst(host, { action: 'rollback' });
    expect(first.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0, action: 'rollback' });
    expect(await template()).toEqual(BROKEN);
    expect(host.container()?.state).toBe('running');
    expect((await handshake()).status).not.toBe(101);
    const second = await runAgainst(host, { action: 'rollback' });
    expect(second.report).toMatchObject({ outcome: 'nothing-to-roll-back', exitCode: 0 });
    expect(second.report.steps.filter((s) => s.status === 'skipped').map((s) => s.id)).toEqual(['restore-backup', 'deploy', 'commit', 'prune-backups']);
  });

  it('refuses without a backup: exit 3, nothing changed', async () => {
    const { report } = await runAgainst(host, { action: 'rollback' });
    expect(report).toMatchObject({ outcome: 'could-not-start', exitCode: 3, error: { code: 'no-backup' } });
    expect(await template()).toEqual(BROKEN);
  });

  it('apply after a rollback keeps the one original backup', async () => {
    await runAgainst(host);
    await runAgainst(host, { action: 'rollback' });
    const again = await runAgainst(host);
    expect(again.report.steps.find((s) => s.id === 'backup')).toMatchObject({ status: 'skipped', detail: 'ocapistaine.conf.template.backup already holds the current template (kept as it is)' });
    expect((await snapshotFiles(host.projectDir)).has(BACKUP)).toBe(true);
    expect([...(await snapshotFiles(host.projectDir)).keys()].filter((k) => k.includes('.backup'))).toEqual([BACKUP]);
  });
});

describe('preconditions (exit 3, nothing changed)', () => {
  it.each([
    [{ dir: '~/nowhere' }, 'precondition-dir'],
    [{ service: 'web' }, 'precondition-template'],
  ])('%j → %s', async (overrides, code) => {
    const { report } = await runAgainst(host, overrides);
    expect(report).toMatchObject({ exitCode: 3, error: { code } });
    expect(changingCommands(host.stats.commands)).toEqual([]);
  });

  it('a hostile --dir runs nothing on the host', async () => {
    const marker = join(host.home, 'pwned');
    const { report } = await runAgainst(host, { dir: `~/$(touch ${marker})` });
    expect(report.exitCode).toBe(3);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });
});

describe('--commit', () => {
  const git = (...args: string[]) => execa('git', ['-C', host.projectDir, ...args]);

  it('commits the verified template with a message naming the tool and the run; a rollback commits the revert', async () => {
    await git('init', '-q');
    await git('-c', 'user.name=op', '-c', 'user.email=op@example.invalid', 'add', '-A');
    await git('-c', 'user.name=op', '-c', 'user.email=op@example.invalid', 'commit', '-q', '-m', 'initial');
    const { report } = await runAgainst(host, { commit: true });
    expect(report.steps.find((s) => s.id === 'commit')).toMatchObject({ status: 'done', detail: expect.stringMatching(/^committed [0-9a-f]+: "apply-ws-fix: apply .*\(run /) });
    expect((await git('log', '-1', '--format=%s')).stdout).toBe(`apply-ws-fix: apply WebSocket upgrade support for the ocapistaine nginx proxy (run ${report.runId})`);
    expect((await execa('git', ['-C', host.projectDir, 'show', 'HEAD:proxy-configs/ocapistaine.conf.template'], { encoding: 'buffer', stripFinalNewline: false })).stdout).toEqual(new Uint8Array(DESIRED));
    expect((await git('status', '--porcelain', '--', 'proxy-configs/ocapistaine.conf.template')).stdout).toBe('');
    const rollback = await runAgainst(host, { action: 'rollback', commit: true });
    expect(rollback.report.steps.find((s) => s.id === 'commit')?.status).toBe('done');
    expect((await git('log', '-1', '--format=%s')).stdout).toMatch(/^apply-ws-fix: roll back /);
  });

  it('says so and goes on when the directory is not a git repository', async () => {
    const { report } = await runAgainst(host, { commit: true });
    expect(report).toMatchObject({ exitCode: 0, outcome: 'applied' });
    expect(report.steps.find((s) => s.id === 'commit')?.detail).toBe('~/vaettir is not a git repository: nothing committed');
  });
});
