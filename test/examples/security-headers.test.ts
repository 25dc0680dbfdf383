// The example runbook written against the public API (examples/security-headers/runbook.mjs, importing
// 'apply-ws-fix' by name, which resolves to this package's build): apply, re-run, --rollback and a failed check
// against the fake host. test/packaging/ runs the same file from a project outside the repo.
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runbook } from '../../src/core/types.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { httpStatus } from '../../src/lib/probes.js';
import { runAgainst } from '../helpers/fake-run.js';

const runbook = (await import('../../examples/security-headers/runbook.mjs' as string)).default as Runbook;

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const run = (overrides: Parameters<typeof runAgainst>[1] = {}) => runAgainst(host, { ...overrides, params: { dir: '~/vaettir', service: 'ocapistaine', url: 'unused' } }, {}, runbook);
async function headers(): Promise<Record<string, string | string[] | undefined>> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    request(`${host.publicUrl}/_stcore/health`, (res) => {
      res.resume();
      resolve(res.headers);
    }).on('error', reject).end();
  });
}

describe('examples/security-headers', () => {
  it('inserts the block, validates, recreates, and the public URL sends the headers; a re-run changes nothing; --rollback restores', async () => {
    const original = await readFile(host.templatePath);
    expect((await headers())['x-content-type-options']).toBeUndefined();
    const dry = await run({ dryRun: true });
    expect(dry.report.diff).toContain('+    # BEGIN apply-ws-fix security-headers');
    expect(await readFile(host.templatePath)).toEqual(original);

    const { report } = await run();
    expect(report.error).toBeNull();
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([['backup-template', 'done'], ['write-template', 'done'], ['build', 'done'], ['validate', 'done'], ['deploy', 'done'], ['running', 'done'], ['headers', 'done']]);
    const template = (await readFile(host.templatePath, 'utf8')).split('\n');
    const begin = template.indexOf('    # BEGIN apply-ws-fix security-headers');
    expect(template[begin - 1]).toBe('server {');
    expect(template.slice(begin + 1, begin + 4)).toEqual(['    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;', '    add_header X-Content-Type-Options "nosniff" always;', '    # END apply-ws-fix security-headers']);
    // Every other line as it was.
    expect([...template.slice(0, begin), ...template.slice(begin + 4)].join('\n')).toBe(original.toString());
    expect(await headers()).toMatchObject({ 'strict-transport-security': 'max-age=31536000; includeSubDomains', 'x-content-type-options': 'nosniff' });

    const again = await run();
    expect(again.report).toMatchObject({ outcome: 'already-applied', exitCode: 0 });

    const back = await run({ action: 'rollback' });
    expect(back.report.error).toBeNull();
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(back.report.steps.map((s) => s.id)).toEqual(['restore-template', 'rebuild-image', 'recreate-container', 'running']);
    expect(await readFile(host.templatePath)).toEqual(original);
    expect((await headers())['x-content-type-options']).toBeUndefined();
    expect((await httpStatus(`${host.publicUrl}/_stcore/health`, 'GET', 3000)).status).toBe(200);
  });

  it('a failing headers check (something in front answers 403 without them) rolls it all back', async () => {
    const original = await readFile(host.templatePath);
    host.faults.add('forbidden');
    const { report } = await run();
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'headers' } });
    expect(report.rollback?.actions.map((a) => a.id)).toEqual(['restore-template', 'rebuild-image', 'recreate-container']);
    expect(await readFile(host.templatePath)).toEqual(original);
    expect(host.container()?.renderedConfig).not.toContain('add_header');
  });

  it('a failing running check (the new config crash-loops) rolls it back, and the old config runs again', async () => {
    const original = await readFile(host.templatePath);
    host.faults.add('crash-on-start');
    const { report } = await run();
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'running' } });
    expect(await readFile(host.templatePath)).toEqual(original);
    expect(host.container()?.state).toBe('running');
  });

  it('a failed build stops it before anything goes live, and the template comes back', async () => {
    host.faults.add('build-fails');
    const { report } = await run();
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'build' } });
    expect(await readFile(host.templatePath, 'utf8')).not.toContain('add_header');
  });
});
