// Faults 10–12 of issue 3, through the built CLI on the real host: the SSH connection drops after the
// template was written (10), Ctrl-C while `docker compose build` runs (11), and the template changes on
// the host between the plan and the write (12). The switches live in the test host: a build whose last
// step holds for a moment (host.holdNextBuild), sshd's connections cut by the harness (and logins refused for a
// while), a third party's edit. Fault 10 rests on the host journal: the next run finds the unfinished one.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { allOutputs, CLI_PATH, cliEnv, cliMissing, explain, finish, hostFlags, REPO, runCli, spawnCli, staleBuildWarning, type CliResult } from './cli.js';
import { realHostPrerequisites, startRealHost, TEMPLATE_REL, type ContainerState, type RealHost } from './harness/real-host.js';
import { shellJoin } from '../../src/shell/quote.js';
import { waitFor } from './harness/system.js';
import { backup, changingDockerCalls, expectBrokenHost, expectFixedHost, liveConfig, rendered, SEED_CONFIG, template } from './host-state.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e safety tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);
// `script` (util-linux) gives the CLI a terminal, so it shows its plan and waits at its prompt.
const SCRIPT = '/usr/bin/script';

const identity = (c: ContainerState | undefined) => ({ id: c?.id, startedAtMs: c?.startedAtMs, restartCount: c?.restartCount, nginxPid: c?.nginxPid, imageId: c?.imageId });

// Apply with the SSH connection dropped once the build has started on the host; `beforeDrop` runs just before.
async function applyDroppingDuringBuild(host: RealHost, beforeDrop: () => void = () => {}): Promise<CliResult> {
  const hold = host.holdNextBuild(2);
  const args = [...hostFlags(host), '--yes', '--json'];
  const started = Date.now();
  const child = spawnCli(args);
  await waitFor('the build to start on the host', hold.started, 20_000, 25);
  expect(template(host)).toBe(SEED_CONFIG);
  beforeDrop();
  expect(await host.dropSshConnections()).toBeGreaterThan(0);
  return finish(child, args, started);
}

describe.skipIf(skip)('apply-ws-fix (built CLI): interruptions and races on a real host', () => {
  let host: RealHost;

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  describe('fault 11: SIGINT while `docker compose build` runs', () => {
    let r: CliResult;
    let before: ContainerState | undefined;
    let since = 0;

    beforeAll(async () => {
      await host.reset();
      const hold = host.holdNextBuild(1);
      before = host.container();
      since = Date.now();
      const args = [...hostFlags(host), '--yes', '--json'];
      const child = spawnCli(args);
      await waitFor('the build to start on the host', hold.started, 20_000, 25);
      child.kill('SIGINT');
      r = await finish(child, args, since);
    });

    test('exit 130 after rolling back; the report says it was interrupted and the rollback is complete', () => {
      expect(r.exitCode, explain(r)).toBe(130);
      expect(r.report?.exitCode).toBe(130);
      expect(r.report?.error?.code).toBe('interrupted');
      expect(r.report?.outcome).toBe('failed-and-restored');
      expect(r.report?.rollback?.restored).toBe(true);
      expect(r.report?.rollback?.actions.map((a) => a.id)).toContain('restore-template');
      expect(r.report?.steps.find((s) => s.id === 'deploy')?.status).toMatch(/not-run|rolled-back/);
      expect(r.stderr).toMatch(/SIGINT: stopping at the next safe point/);
    });

    test('the original template is back, the container was never replaced and runs the original config', async () => {
      expect(template(host)).toBe(host.originalTemplate);
      expect(backup(host)).toBe(host.originalTemplate);
      expect(identity(host.container())).toEqual(identity(before));
      // No container was created, started or removed (the rollback may rebuild the image).
      expect(changingDockerCalls(host, since).filter((c) => c.startsWith('container '))).toEqual([]);
      await expectBrokenHost(host);
    });
  });

  describe('fault 12: the template changes on the host between the plan and the apply', () => {
    const edit = (host: RealHost) => `# edited by hand on the host while apply-ws-fix was planning\n${host.originalTemplate}`;

    test('between a --dry-run and the apply: the apply plans from what is there now, and the edit is kept in the backup', async () => {
      await host.reset();
      const dry = await runCli([...hostFlags(host), '--dry-run', '--json']);
      expect(dry.exitCode, explain(dry)).toBe(0);
      expect(dry.report?.diff).not.toMatch(/edited by hand/);

      host.writeFile(TEMPLATE_REL, edit(host));
      const apply = await runCli([...hostFlags(host), '--yes', '--json']);
      expect(apply.exitCode, explain(apply)).toBe(0);
      // The diff it applied is against the edited template, not the one the dry run saw.
      expect(apply.report?.diff).toMatch(/^-# edited by hand on the host/m);
      expect(apply.report?.checksums?.original).not.toBe(dry.report?.checksums?.original);
      expect(backup(host)).toBe(edit(host));
      await expectFixedHost(host);

      // And a rollback gives the edit back, byte for byte.
      const back = await runCli([...hostFlags(host), '--rollback', '--yes', '--json']);
      expect(back.exitCode, explain(back)).toBe(0);
      expect(template(host)).toBe(edit(host));
      expect(await liveConfig(host)).toBe(rendered(host, edit(host)));
    });

    test.skipIf(!existsSync(SCRIPT))('while the CLI waits at its prompt after showing the plan: noticed before writing, nothing written or lost (exit 1)', async () => {
      await host.reset();
      const before = host.container();
      const since = Date.now();
      // A terminal for the CLI: no --yes, so it shows the plan and asks.
      const command = shellJoin([process.execPath, CLI_PATH, ...hostFlags(host), '--verbose']);
      const child = execa(SCRIPT, ['-qfec', command, '/dev/null'], { reject: false, cwd: REPO, extendEnv: false, env: cliEnv(), stdin: 'pipe', timeout: 60_000 });
      let shown = '';
      child.stdout?.on('data', (d: Buffer) => (shown += d.toString('utf8')));
      await waitFor('the confirmation prompt', () => /\[y\/N\]/.test(shown), 20_000, 25);
      expect(shown).toMatch(/^\+map \$http_upgrade \$connection_upgrade \{\r?$/m);

      // Someone edits the template on the host while the operator reads the plan; then says yes.
      host.writeFile(TEMPLATE_REL, edit(host));
      child.stdin?.write('y\n');
      const done = await child;
      child.stdin?.end();
      const out = String(done.stdout ?? '');
      allOutputs.push(out);
      expect(done.exitCode, out).toBe(1);
      expect(out).toMatch(/the template changed on the host after it was read/);
      expect(out).not.toMatch(/Applied/);

      // The edit is still the template; nothing was built or restarted; the config in the container is the original.
      expect(template(host)).toBe(edit(host));
      expect([undefined, edit(host), host.originalTemplate]).toContain(backup(host));
      expect(backup(host)).not.toBe(SEED_CONFIG);
      expect(changingDockerCalls(host, since)).toEqual([]);
      expect(identity(host.container())).toEqual(identity(before));
      expect(await liveConfig(host)).toBe(rendered(host, host.originalTemplate));

      // The next plan starts from the edit: nothing of it is lost.
      const dry = await runCli([...hostFlags(host), '--dry-run', '--json']);
      expect(dry.report?.diff).toMatch(/^-# edited by hand on the host/m);
    });
  });

  describe('fault 10: the SSH connection drops after the template was written, the host still reachable', () => {
    let r: CliResult;

    beforeAll(async () => {
      await host.reset();
      r = await applyDroppingDuringBuild(host);
    });

    test('the CLI reconnects and rolls back: exit 1, the original template, the container untouched', async () => {
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.report?.outcome).toBe('failed-and-restored');
      expect(r.report?.rollback?.restored).toBe(true);
      expect(r.report?.recovery).toBeNull();
      await expectBrokenHost(host);
      expect(backup(host)).toBe(host.originalTemplate);
    });

    // A channel that closes without an exit status is a lost connection, not a failed command.
    test('the report says the SSH connection was lost, not that the build failed', () => {
      expect(`${r.report?.error?.message} ${r.report?.error?.remedy}`).toMatch(/connection|disconnect|not connected/i);
    });
  });

  describe('fault 10: the SSH connection drops after the template was written, and logins fail until the run gives up', () => {
    let r: CliResult;

    beforeAll(async () => {
      await host.reset();
      // The host stops accepting the key (as if unreachable), then the connection drops.
      r = await applyDroppingDuringBuild(host, () => host.writeFile('.ssh/authorized_keys', ''));
      host.writeFile('.ssh/authorized_keys', `${host.publicKey}\n`);
    });

    test('exit 2, not restored, with the exact recovery commands', () => {
      expect(r.exitCode, explain(r)).toBe(2);
      expect(r.report?.outcome).toBe('failed-not-restored');
      expect(r.report?.rollback?.restored).toBe(false);
      const recovery = r.report?.recovery ?? [];
      expect(recovery[0]).toBe(`ssh -p ${host.port} ${host.user}@127.0.0.1`);
      expect(recovery[1]).toMatch(/^cp -p -- "\$HOME"\/vaettir\/proxy-configs\/ocapistaine\.conf\.template\.backup "\$HOME"\/vaettir\/proxy-configs\/ocapistaine\.conf\.template\b/);
      expect(recovery.join('\n')).toMatch(/docker compose build ocapistaine/);
      expect(recovery.join('\n')).toMatch(/up -d --force-recreate ocapistaine/);
      expect(r.stderr).toMatch(/To put the host back by hand:/);
      // What is left on the host: the new template, the original in the backup, the old container.
      expect(template(host)).toBe(SEED_CONFIG);
      expect(backup(host)).toBe(host.originalTemplate);
    });

    test('the next --dry-run finds the unfinished run and names it, changing nothing', async () => {
      const dry = await runCli([...hostFlags(host), '--dry-run', '--json']);
      expect(dry.exitCode, explain(dry)).toBe(0);
      expect(dry.report?.unfinished?.runId).toBe(r.report?.runId);
      expect(dry.stderr).toMatch(/Found an unfinished run/);
      expect(template(host)).toBe(SEED_CONFIG);
    });

    test('the next --rollback completes the rollback: the original template and config run again', async () => {
      const back = await runCli([...hostFlags(host), '--rollback', '--yes', '--json']);
      expect(back.exitCode, explain(back)).toBe(0);
      expect(back.report?.outcome).toBe('rolled-back');
      expect(back.report?.unfinished?.runId).toBe(r.report?.runId);
      await expectBrokenHost(host);
      // And the run after that finds nothing unfinished.
      const after = await runCli([...hostFlags(host), '--dry-run', '--json']);
      expect(after.report?.unfinished ?? null).toBeNull();
    });
  });

  test('the secret (OCAPISTAINE_API_TOKEN) is in no output of any run above', () => {
    expect(allOutputs.length).toBeGreaterThan(10);
    for (const out of allOutputs) expect(out.includes(host.secret), out).toBe(false);
  });
});
