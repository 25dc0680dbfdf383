// --check (read-only verdicts with their own exit codes) and --commit (never undoes a verified change), against the fake host.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { changingCommands, runAgainst } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const git = (...args: string[]) => execFileSync('git', ['-C', host.projectDir, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).toString();

describe('--check', () => {
  it('a host that needs the fix: exit 4, needs-change, every check still run, nothing changed', async () => {
    const before = host.stats.commands.length;
    const { report } = await runAgainst(host, { action: 'check' });
    expect(report).toMatchObject({ action: 'check', outcome: 'needs-change', exitCode: 4, check: { needsChange: true, failedChecks: expect.arrayContaining(['rendered', 'endpoint']) } });
    expect(report.steps.map((s) => s.id)).toEqual(['running', 'logs', 'rendered', 'endpoint']);
    expect(changingCommands(host.stats.commands.slice(before))).toEqual([]);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });

  it('a fixed, healthy host: exit 0, healthy', async () => {
    await runAgainst(host);
    const { report } = await runAgainst(host, { action: 'check' });
    expect(report).toMatchObject({ outcome: 'healthy', exitCode: 0, check: { needsChange: false, failedChecks: [] } });
  });

  it('a fixed host whose upstream is down: exit 5, check-failed, naming the check', async () => {
    await runAgainst(host);
    host.faults.add('upstream-down');
    const { report } = await runAgainst(host, { action: 'check' });
    expect(report).toMatchObject({ outcome: 'check-failed', exitCode: 5, check: { needsChange: false, failedChecks: ['endpoint'] }, error: { step: 'endpoint' } });
  });
});

describe('--commit', () => {
  beforeEach(() => {
    git('init', '-q');
  });

  it('commits an untracked template too, after the checks', async () => {
    const { report } = await runAgainst(host, { commit: true });
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(report.steps.find((s) => s.id === 'commit')).toMatchObject({ status: 'done', detail: expect.stringMatching(/^committed [0-9a-f]+/) });
    expect(git('log', '--format=%s', '--', 'proxy-configs/ocapistaine.conf.template')).toMatch(/apply-ws-fix: apply/);
  });

  it('a failed git commit after every check passed keeps the fix: exit 6, the error says so, nothing rolled back', async () => {
    // A hook that refuses every commit.
    await writeFile(join(host.projectDir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const { report } = await runAgainst(host, { commit: true });
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 6, rollback: null, error: { step: 'commit', message: expect.stringMatching(/git commit failed/) } });
    expect(await readFile(host.templatePath)).toEqual(DESIRED);
  });
});
