// The built CLI against real OpenSSH, real nginx and a TLS WebSocket upstream: the seed runbook's whole
// life cycle as an operator runs it — dry-run, apply, re-run, rollback, rollback again — and real
// Streamlit's answers (tornado), read back from the host after each run.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  allOutputs,
  APPLY_CHANGES,
  APPLY_CHECKS,
  changeSteps,
  cliMissing,
  expectApplyShape,
  expectExtraStepsAccounted,
  explain,
  hostFlags,
  runCli,
  staleBuildWarning,
  stepStatus,
} from './cli.js';
import { httpRequest } from './harness/probes.js';
import { realHostPrerequisites, startRealHost, type ContainerState, type RealHost } from './harness/real-host.js';
import {
  backup,
  changingDockerCalls,
  configDirListing,
  dockerEvents,
  expectBrokenHost,
  expectFixedHost,
  handshake,
  liveConfig,
  rendered,
  runningContainer,
  SEED_CONFIG,
  template,
} from './host-state.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
// In CI a missing prerequisite fails the suite; elsewhere the file is skipped with the reason.
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e CLI tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

// The container facts that change when it is recreated or restarted.
const identity = (c: ContainerState | undefined) => ({ id: c?.id, startedAtMs: c?.startedAtMs, restartCount: c?.restartCount, nginxPid: c?.nginxPid, imageId: c?.imageId });

describe.skipIf(skip)('apply-ws-fix (built CLI) on a real host', () => {
  let host: RealHost;
  const flags = () => hostFlags(host);

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  test('before the fix: a WebSocket handshake through the real nginx gets no 101', async () => {
    // The plain request cannot tell broken from fixed (426 either way); only the handshake can.
    expect((await httpRequest(`${host.publicUrl}/_stcore/health`)).status).toBe(200);
    expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(426);
    await expectBrokenHost(host);
  });

  describe('--dry-run', () => {
    test('--json: exit 0, the diff in the report, would-change steps; template, backup and container untouched', async () => {
      const before = host.container();
      const since = Date.now();
      const r = await runCli([...flags(), '--dry-run', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report).toMatchObject({ action: 'dry-run', dryRun: true, outcome: 'dry-run', exitCode: 0, error: null, rollback: null, recovery: null });
      // A dry run lists the change steps it would run, and runs no check.
      const ids = r.report?.steps.map((s) => s.id) ?? [];
      expect(ids.filter((id) => (APPLY_CHANGES as readonly string[]).includes(id))).toEqual([...APPLY_CHANGES]);
      expect(ids.filter((id) => (APPLY_CHECKS as readonly string[]).includes(id))).toEqual([]);
      for (const id of APPLY_CHANGES) expect(stepStatus(r, id), id).toBe('would-change');
      expectExtraStepsAccounted(r);
      expect(r.report?.steps.every((s) => s.detail !== '')).toBe(true);
      const diff = r.report?.diff ?? '';
      expect(diff).toMatch(/^--- .*ocapistaine\.conf\.template/m);
      expect(diff).toMatch(/^\+map \$http_upgrade \$connection_upgrade \{$/m);
      expect(diff).toMatch(/^\+ +proxy_set_header Upgrade \$http_upgrade;$/m);
      expect(diff).toMatch(/^\+ +proxy_set_header Connection \$connection_upgrade;$/m);

      expect(template(host)).toBe(host.originalTemplate);
      expect(backup(host)).toBeUndefined();
      expect(await configDirListing(host)).toEqual(['Dockerfile.ocapistaine', 'entrypoint.sh', 'ocapistaine.conf.template']);
      expect(identity(host.container())).toEqual(identity(before));
      expect(changingDockerCalls(host, since)).toEqual([]);
    });

    test('without --json: the diff is printed on stdout, and nothing changes', async () => {
      const before = host.container();
      const since = Date.now();
      const r = await runCli([...flags(), '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/^\+map \$http_upgrade \$connection_upgrade \{$/m);
      expect(r.stdout).toMatch(/^-? *proxy_pass \$\{OCAPISTAINE_TARGET_URL\};$|^ +proxy_pass/m);
      expect(r.stdout).toMatch(/Dry run/i);
      expect(template(host)).toBe(host.originalTemplate);
      expect(backup(host)).toBeUndefined();
      expect(identity(host.container())).toEqual(identity(before));
      expect(changingDockerCalls(host, since)).toEqual([]);
    });
  });

  describe('apply', () => {
    let applied: ContainerState | undefined;

    test('without a terminal and without --yes: refused (exit 64), nothing changed', async () => {
      const before = host.container();
      const since = Date.now();
      const r = await runCli(flags());
      expect(r.exitCode, explain(r)).toBe(64);
      expect(r.stderr).toMatch(/--yes/);
      expect(template(host)).toBe(host.originalTemplate);
      expect(identity(host.container())).toEqual(identity(before));
      expect(dockerEvents(host, since)).toEqual([]);
    });

    test('--yes --json --verbose: exit 0, 101 through real nginx, the seed config byte for byte, the original in the backup', async () => {
      const before = host.container();
      await host.clearUpstreamRequests();
      const r = await runCli([...flags(), '--yes', '--json', '--verbose']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report).toMatchObject({ action: 'apply', dryRun: false, outcome: 'applied', exitCode: 0, error: null, rollback: null, recovery: null });
      expectApplyShape(r);
      for (const id of [...APPLY_CHANGES, ...APPLY_CHECKS]) expect(stepStatus(r, id), id).toBe('done');
      expectExtraStepsAccounted(r);
      expect(r.report?.steps.find((s) => s.id === 'endpoint')?.detail).toMatch(/handshake 101/);
      // --verbose shows the remote commands (on stderr, since stdout carries the JSON).
      expect(r.stderr).toMatch(/\$ .*docker compose .*build/);

      // The template is the runbook's config byte for byte; the backup is the original byte for byte.
      await expectFixedHost(host);
      expect(template(host)).toBe(SEED_CONFIG);
      expect(backup(host)).toBe(host.originalTemplate);
      expect(await configDirListing(host)).toEqual([
        'Dockerfile.ocapistaine',
        'entrypoint.sh',
        'ocapistaine.conf.template',
        'ocapistaine.conf.template.backup',
      ]);
      // The container was recreated from a new image, and the Upgrade headers now reach the app.
      applied = await runningContainer(host);
      expect(applied.id).not.toBe(before?.id);
      expect(applied.imageId).not.toBe(before?.imageId);
      const seen = (await host.upstreamRequests()).filter((q) => q.url === '/_stcore/stream' && q.upgrade);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]?.headers).toMatchObject({ upgrade: 'websocket', connection: 'upgrade' });
    });

    test('re-run: exit 0, already-applied, every change step skipped with its reason; container not recreated', async () => {
      const before = host.container();
      const since = Date.now();
      const r = await runCli([...flags(), '--yes', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report?.outcome).toBe('already-applied');
      expectApplyShape(r);
      const change = changeSteps(r);
      for (const step of change) {
        expect(step.status, step.id).toBe('skipped');
        expect(step.detail, `${step.id} says why it was skipped`).not.toBe('');
      }
      expect(change.find((s) => s.id === 'backup')?.detail).toMatch(/already holds the new config/);
      expect(change.find((s) => s.id === 'write-template')?.detail).toMatch(/already holds the new config/);
      expect(change.find((s) => s.id === 'deploy')?.detail).toMatch(/already serves the new config/);
      // The checks still run: "already applied" is only said of a host that passes them.
      for (const id of ['running', 'logs', 'rendered', 'endpoint']) expect(stepStatus(r, id), id).toBe('done');

      expect(identity(host.container())).toEqual(identity(before));
      expect(identity(host.container())).toEqual(identity(applied));
      expect(changingDockerCalls(host, since)).toEqual([]);
      expect(backup(host)).toBe(host.originalTemplate);
      expect(template(host)).toBe(SEED_CONFIG);
    });

    test('re-run without --json: the summary says already applied and why each step was skipped', async () => {
      const r = await runCli([...flags(), '--yes']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/Already applied/);
      expect(r.stdout).toMatch(/skipped\s+Back up the template: the template already holds the new config/);
      expect(identity(host.container())).toEqual(identity(applied));
    });

    test('--dry-run on the fixed host: nothing to change, no diff', async () => {
      const r = await runCli([...flags(), '--dry-run', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report?.diff).toBeNull();
      expect(changeSteps(r).every((s) => s.status === 'skipped')).toBe(true);
      expect(identity(host.container())).toEqual(identity(applied));
    });
  });

  describe('--rollback', () => {
    test('--rollback --yes: exit 0, the original template byte for byte, the handshake fails again, container running', async () => {
      const r = await runCli([...flags(), '--rollback', '--yes', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report).toMatchObject({ action: 'rollback', outcome: 'rolled-back', exitCode: 0, error: null });
      expect(stepStatus(r, 'restore-backup')).toBe('done');
      expect(stepStatus(r, 'deploy')).toBe('done');
      expect(stepStatus(r, 'running')).toBe('done');
      expect(stepStatus(r, 'logs')).toBe('done');
      // Back to the broken host, exactly: template, rendered config, and the handshake that fails.
      await expectBrokenHost(host);
      expect(backup(host)).toBe(host.originalTemplate);
    });

    test('a second --rollback: exit 0, nothing to roll back, container left alone', async () => {
      const before = host.container();
      const since = Date.now();
      const r = await runCli([...flags(), '--rollback', '--yes', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report?.outcome).toBe('nothing-to-roll-back');
      expect(r.report?.steps.filter((s) => ['restore-backup', 'deploy'].includes(s.id)).map((s) => s.status)).toEqual(['skipped', 'skipped']);
      expect(identity(host.container())).toEqual(identity(before));
      expect(changingDockerCalls(host, since)).toEqual([]);
      expect(template(host)).toBe(host.originalTemplate);
    });

    test('apply again after the rollback: the same backup is reused, 101 again', async () => {
      const r = await runCli([...flags(), '--yes', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report?.outcome).toBe('applied');
      expect(r.report?.steps.find((s) => s.id === 'backup')).toMatchObject({ status: 'skipped' });
      await expectFixedHost(host);
      expect(backup(host)).toBe(host.originalTemplate);
    });
  });

  describe('real Streamlit (Tornado: plain GET 400, HEAD 405, never 426)', () => {
    beforeAll(async () => {
      await host.reset();
      host.setUpstreamMode('tornado');
    });

    test('the broken host answers like Streamlit, and the handshake is 400, not 101', async () => {
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`)).status).toBe(400);
      expect((await httpRequest(`${host.publicUrl}/_stcore/stream`, { method: 'HEAD' })).status).toBe(405);
      await expectBrokenHost(host, { handshake: 400 });
    });

    test('apply still succeeds: exit 0, 101 through nginx (a 400 on a plain GET is the app, not a failure)', async () => {
      const r = await runCli([...flags(), '--yes', '--json']);
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.report?.outcome).toBe('applied');
      expect(r.report?.steps.find((s) => s.id === 'endpoint')?.detail).toMatch(/handshake 101.*400/);
      await expectFixedHost(host);
      expect(await liveConfig(host)).toBe(rendered(host, SEED_CONFIG));
      expect((await handshake(host)).status).toBe(101);
    });
  });

  test('the secret (OCAPISTAINE_API_TOKEN) is in no output of any run above, --verbose and --json included', () => {
    expect(allOutputs.length).toBeGreaterThanOrEqual(20);
    for (const out of allOutputs) expect(out.includes(host.secret), out).toBe(false);
  });
});
