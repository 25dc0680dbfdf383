// Backups do not pile up without bound: --param keep-backups=N keeps the newest N timestamped ones (never the plain
// .backup, never the one a --rollback would restore), and without it every backup is listed and kept.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { params } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
const configDir = () => join(host.projectDir, 'proxy-configs');
const backups = async () => (await readdir(configDir())).filter((n) => n.startsWith('ocapistaine.conf.template.backup')).sort();

beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
  await writeFile(join(configDir(), 'ocapistaine.conf.template.backup'), '# a person\'s own backup\n');
  for (const stamp of ['20261101T000000Z', '20261102T000000Z', '20261103T000000Z', '20261104T000000Z']) {
    await writeFile(join(configDir(), `ocapistaine.conf.template.backup.${stamp}`), `# ${stamp}\n`);
  }
});
afterEach(async () => {
  await host.close();
});

describe('keep-backups', () => {
  it('without it, every backup is kept, and the plan lists them', async () => {
    const { report } = await runAgainst(host, { dryRun: true });
    expect(report.steps.find((s) => s.id === 'prune-backups')?.detail).toMatch(/^5 backup\(s\), all kept: ocapistaine\.conf\.template\.backup, ocapistaine\.conf\.template\.backup\.20261101T000000Z, .* \(--param keep-backups=N keeps the newest N\)$/);
    await runAgainst(host);
    expect(await backups()).toHaveLength(6);
  });

  it('keeps the newest N timestamped backups after a successful apply; the plain .backup and the one a rollback needs stay', async () => {
    const { report } = await runAgainst(host, { params: { ...params({ 'keep-backups': '2' }), url: host.publicUrl } });
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    const left = await backups();
    // This run's own backup (the newest) is what a --rollback restores; of the others the newest 2 remain.
    expect(left).toContain('ocapistaine.conf.template.backup');
    expect(left.filter((n) => /\.2026110[34]T/.test(n))).toEqual(['ocapistaine.conf.template.backup.20261103T000000Z', 'ocapistaine.conf.template.backup.20261104T000000Z']);
    expect(left.filter((n) => /\.2026110[12]T/.test(n))).toEqual([]);
    const back = await runAgainst(host, { action: 'rollback' });
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
  });

  it('a failed run prunes nothing', async () => {
    host.faults.add('health-fails');
    await runAgainst(host, { params: { ...params({ 'keep-backups': '1' }), url: host.publicUrl } });
    expect((await backups()).length).toBe(6);
  });
});
