// A journal the release before the executor wrote (its own three kinds of change, under ~/.apply-ws-fix/vaettir-ocapistaine)
// is read by this one: its unfinished run is found, adopted and undone.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { sha256 } from '../../src/lib/checksum.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
  // What a crashed run of that release left: the fix written and its backup made, the journal without an end.
  await writeFile(join(host.projectDir, 'proxy-configs', 'ocapistaine.conf.template.backup'), BROKEN);
  await writeFile(host.templatePath, DESIRED);
  const at = '2026-11-26T01:00:00.000Z';
  const runId = '20261126T010000Z-0ld0ld';
  const lines = [
    { event: 'start', runId, at, action: 'apply', by: 'op@laptop', pid: 4242, runbook: 'ocapistaine-ws-fix', dir: '~/vaettir', service: 'ocapistaine', templateSha256: sha256(BROKEN), newSha256: sha256(DESIRED) },
    { event: 'template-written', runId, at, backup: 'ocapistaine.conf.template.backup', originalSha256: sha256(BROKEN), newSha256: sha256(DESIRED) },
    { event: 'image-built', runId, at },
  ];
  await mkdir(join(host.home, '.apply-ws-fix', 'vaettir-ocapistaine'), { recursive: true });
  await writeFile(join(host.home, '.apply-ws-fix', 'vaettir-ocapistaine', 'journal.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
});
afterEach(async () => {
  await host.close();
});

describe('a journal of the previous release', () => {
  it('a dry-run names its unfinished run and what it had changed, in this release\'s step ids', async () => {
    const { report, output } = await runAgainst(host, { dryRun: true }, { renderer: 'simple' });
    expect(report.unfinished).toMatchObject({ runId: '20261126T010000Z-0ld0ld', by: 'op@laptop', changed: ['write-template', 'build'] });
    expect(output).toMatch(/Found an unfinished run: run 20261126T010000Z-0ld0ld/);
  });

  it('an apply whose check fails adopts that run and undoes its template write too (sha256 of the backup checked)', async () => {
    host.faults.add('health-fails');
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, unfinished: { runId: '20261126T010000Z-0ld0ld' } });
    expect(report.rollback?.actions.map((a) => [a.id, a.status])).toEqual([['restore-template', 'done'], ['rebuild-image', 'done'], ['recreate-container', 'done']]);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });

  it('--rollback puts the original back, and no later run finds that run unfinished again', async () => {
    const back = await runAgainst(host, { action: 'rollback' });
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0, unfinished: { runId: '20261126T010000Z-0ld0ld' } });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    const after = await runAgainst(host, { dryRun: true });
    expect(after.report.unfinished).toBeNull();
  });
});
