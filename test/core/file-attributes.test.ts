// Owner, mode and links are kept: a symlinked template stays a symlink (its target is written and restored), and a
// template's mode survives the apply and the rollback. Temp files an interrupted run left are removed.
import { chmod, lstat, mkdir, readFile, readlink, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

describe('what a replaced file keeps', () => {
  it('a symlinked template: the target is written, the link kept; a failed check restores the target, link still kept', async () => {
    const real = join(host.home, 'shared-configs', 'ocapistaine.conf.template');
    await mkdir(join(host.home, 'shared-configs'));
    await rename(host.templatePath, real);
    await symlink(real, host.templatePath);
    await chmod(real, 0o640);

    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(report.steps.find((s) => s.id === 'write-template')?.detail).toBeDefined();
    expect((await lstat(host.templatePath)).isSymbolicLink()).toBe(true);
    expect(await readlink(host.templatePath)).toBe(real);
    expect(await readFile(real)).toEqual(DESIRED);
    expect((await stat(real)).mode & 0o777).toBe(0o640);

    const back = await runAgainst(host, { action: 'rollback' });
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect((await lstat(host.templatePath)).isSymbolicLink()).toBe(true);
    expect(await readFile(real)).toEqual(BROKEN);

    host.faults.add('health-fails');
    const failed = await runAgainst(host);
    expect(failed.report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1 });
    expect((await lstat(host.templatePath)).isSymbolicLink()).toBe(true);
    expect(await readFile(real)).toEqual(BROKEN);
    expect((await stat(real)).mode & 0o777).toBe(0o640);
  });

  it('the plan says what is kept', async () => {
    const { output } = await runAgainst(host, { dryRun: true }, { renderer: 'simple' });
    expect(output).toMatch(/replace ~\/vaettir\/proxy-configs\/ocapistaine\.conf\.template \(backup: ocapistaine\.conf\.template\.backup; owner \S+:\S+ and mode 644 kept\)/);
  });

  it('temp files an interrupted run left beside the template are removed by the next run that changes it', async () => {
    const left = join(host.projectDir, 'proxy-configs', '.ocapistaine.conf.template.20261126T010000Z-aaaaaa.tmp');
    await writeFile(left, 'half written');
    const { report } = await runAgainst(host);
    expect(report.exitCode).toBe(0);
    await expect(stat(left)).rejects.toThrow(/ENOENT/);
  });
});
