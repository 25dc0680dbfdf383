// The token rotation end to end against the fake host, in process and through the built CLI: neither the old
// value nor the new one may appear in any output, report, journal or remote command line, and no byte of .env but
// the token's line may change.
import { existsSync } from 'node:fs';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import rotateToken from '../../../runbooks/ocapistaine-rotate-token/runbook.js';
import type { RunOptions } from '../../../src/core/options.js';
import { startFakeHost, type FakeHost } from '../../../src/fake-host/host.js';
import { sha256 } from '../../../src/lib/checksum.js';
import { packageRoot } from '../../../src/paths.js';
import { runAgainst } from '../../helpers/fake-run.js';

const OLD = 'fake-secret-token-do-not-print-7f3a9c';
const NEW = 'n3w-t0ken-9d8c7b6a5f4e3d2c1b0a';
const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const envPath = () => join(host.projectDir, '.env');
const env = () => readFile(envPath());
const run = (token: string | undefined, overrides: Partial<RunOptions> = {}) =>
  runAgainst(host, { verbose: true, ...overrides, params: { dir: '~/vaettir', service: 'ocapistaine', ...(token !== undefined ? { token } : {}) } }, { renderer: 'simple' }, rotateToken);
const containerToken = () => host.container() && readContainerEnv();
// The container's environment as the emulator holds it (the test may look; the tool may not).
async function readContainerEnv(): Promise<string | undefined> {
  const { connect } = await import('../../fake-host/ssh-client.js');
  const ssh = await connect(host);
  const result = await ssh.exec('cd ~/vaettir && docker compose exec -T ocapistaine printenv OCAPISTAINE_API_TOKEN');
  ssh.end();
  return result.code === 0 ? result.out.replace(/\n$/, '') : undefined;
}

/** Every place a value could leak to: the journal and lock files on the host, and the host's recorded command lines. */
async function hostTraces(): Promise<string> {
  const state = join(host.home, '.apply-ws-fix');
  const texts: string[] = [host.stats.commands.join('\n')];
  const walk = async (dir: string): Promise<void> => {
    if (!existsSync(dir)) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) texts.push(await readFile(path, 'utf8'));
    }
  };
  await walk(state);
  return texts.join('\n');
}

function expectNoValue(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(OLD);
    expect(text).not.toContain(NEW);
  }
}

describe('ocapistaine-rotate-token in process', () => {
  it('rotates, shows only checksums, re-runs as a no-op, and rolls back byte for byte', async () => {
    const before = await env();
    const applied = await run(NEW);
    expect(applied.report.error).toBeNull();
    expect(applied.report).toMatchObject({ outcome: 'applied', exitCode: 0 });
    expect(await containerToken()).toBe(NEW);
    expect((await env()).toString()).toBe(before.toString().replace(`OCAPISTAINE_API_TOKEN=${OLD}`, `OCAPISTAINE_API_TOKEN=${NEW}`));
    expect((await stat(envPath())).mode & 0o777).toBe(0o600);
    const label = (value: string) => `<secret, sha256 ${sha256(Buffer.from(value)).slice(0, 12)}…>`;
    expect(applied.report.diff).toContain(`-OCAPISTAINE_API_TOKEN=${label(OLD)}`);
    expect(applied.report.diff).toContain(`+OCAPISTAINE_API_TOKEN=${label(NEW)}`);
    expect(applied.report.params).toMatchObject({ token: label(NEW) });
    // The container is compared by checksum, computed on the host.
    expect(host.stats.commands.some((c) => c.includes('printenv OCAPISTAINE_API_TOKEN | sha256sum'))).toBe(true);
    expect(applied.output).toContain('$ '); // --verbose did log the remote commands and their output

    const again = await run(NEW);
    expect(again.report).toMatchObject({ outcome: 'already-applied', exitCode: 0 });
    expect(again.report.steps.filter((s) => s.status === 'skipped').map((s) => s.id)).toEqual(['backup-env', 'write-env', 'recreate']);

    const back = await run(undefined, { action: 'rollback' });
    expect(back.report.error).toBeNull();
    expect(back.report).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
    expect(await env()).toEqual(before);
    expect(await containerToken()).toBe(OLD);
    expect((await stat(join(host.projectDir, '.env.backup'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(host.projectDir, '.env.backup'))).toEqual(before);

    expectNoValue(applied.output, again.output, back.output, JSON.stringify([applied.report, again.report, back.report]), await hostTraces());
  });

  it('changes no byte of .env but the token line, whatever its format; a dry-run changes nothing', async () => {
    const original = `# secrets\r\nOCAPISTAINE_TARGET_URL=https://ocapistaine.ngrok-free.app\r\nexport  OCAPISTAINE_API_TOKEN = "${OLD}"\r\n\r\nOTHER_SECRET='keep me'\r\n# no final newline`;
    await writeFile(envPath(), original);
    await chmod(envPath(), 0o600);
    const dry = await run(NEW, { dryRun: true });
    expect(dry.report).toMatchObject({ outcome: 'dry-run' });
    expect((await env()).toString()).toBe(original);
    const applied = await run(NEW);
    expect(applied.report.error).toBeNull();
    const after = (await env()).toString();
    expect(after).toBe(original.replace(`"${OLD}"`, `"${NEW}"`));
    const [a, b] = [original.split('\n'), after.split('\n')];
    expect(b.length).toBe(a.length);
    expect(b.filter((line, i) => line !== a[i])).toEqual([`export  OCAPISTAINE_API_TOKEN = "${NEW}"\r`]);
    expect(await containerToken()).toBe(NEW);
    expect((await run(undefined, { action: 'rollback' })).report.outcome).toBe('rolled-back');
    expect((await env()).toString()).toBe(original);
    expectNoValue(dry.output, applied.output, JSON.stringify([dry.report, applied.report]), await hostTraces());
    expect(applied.output).not.toContain('keep me');
  });

  it('a container that does not get the new token fails the check and is rolled back by itself', async () => {
    const file = join(host.projectDir, 'compose.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('OCAPISTAINE_API_TOKEN: ${OCAPISTAINE_API_TOKEN}', `OCAPISTAINE_API_TOKEN: ${OLD}`));
    const before = await env();
    const { report, output } = await run(NEW);
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'env-ocapistaine_api_token' }, rollback: { restored: true } });
    expect(report.error?.message).toMatch(/is not the new value \(sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…\)/);
    expect(await env()).toEqual(before);
    expectNoValue(output, JSON.stringify(report), await hostTraces());
  });

  it('a failing running check: .env is restored byte for byte; a container that never runs again is exit 2 with recovery commands, no value in them', async () => {
    const before = await env();
    host.faults.add('crash-always');
    const { report, output } = await run(NEW);
    expect(report).toMatchObject({ outcome: 'failed-not-restored', exitCode: 2, error: { step: 'running' } });
    expect(report.rollback?.actions.map((a) => [a.id, a.status])).toEqual([['restore-env', 'done'], ['recreate-container', 'failed']]);
    expect(await env()).toEqual(before);
    expect(report.recovery?.some((c) => c.includes('up -d --force-recreate ocapistaine'))).toBe(true);
    expectNoValue(output, JSON.stringify(report), await hostTraces());
  });

  it('a recreate that fails leaves the old container: the rollback restores .env and sees the container already has its token', async () => {
    const before = await env();
    host.faults.add('up-fails');
    const { report, output } = await run(NEW);
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { step: 'recreate' } });
    expect(report.rollback?.actions.map((a) => [a.id, a.status])).toEqual([['restore-env', 'done'], ['recreate-container', 'done']]);
    expect(report.rollback?.actions[1]?.detail).toMatch(/still runs the original config/);
    expect(await env()).toEqual(before);
    expect(await containerToken()).toBe(OLD);
    expectNoValue(output, JSON.stringify(report), await hostTraces());
  });
});

describe('ocapistaine-rotate-token through the built CLI', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
  });
  const flags = () => ['--runbook', 'ocapistaine-rotate-token', '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--settle', '0.3', '--yes'];
  const cli = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) =>
    execa('node', [CLI, ...flags(), ...args], { reject: false, env: { NO_COLOR: '1', ...options.env }, ...(options.input !== undefined ? { input: options.input } : {}), timeout: 60_000 });

  it('never takes the token from a flag (exit 64, and the value is not echoed)', async () => {
    const { exitCode, stderr, stdout } = await cli(['--param', `token=${NEW}`]);
    expect(exitCode).toBe(64);
    expect(stderr).toMatch(/is a secret: it is never taken from a flag/);
    expectNoValue(stdout, stderr);
  });

  it('from APPLY_WS_FIX_PARAM_TOKEN with --verbose --json, and back with --rollback: no value anywhere', async () => {
    const before = await env();
    const applied = await cli(['--verbose', '--json'], { env: { APPLY_WS_FIX_PARAM_TOKEN: NEW } });
    expect(applied.exitCode).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ runbook: 'ocapistaine-rotate-token', outcome: 'applied' });
    expect(await containerToken()).toBe(NEW);
    const back = await cli(['--rollback', '--verbose', '--json']);
    expect(back.exitCode).toBe(0);
    expect(await env()).toEqual(before);
    expectNoValue(applied.stdout, applied.stderr, back.stdout, back.stderr, await hostTraces());
  });

  it('from stdin with --param token=-', async () => {
    const { exitCode, stdout, stderr } = await cli(['--param', 'token=-', '--verbose'], { input: `${NEW}\n` });
    expect(exitCode).toBe(0);
    expect(await containerToken()).toBe(NEW);
    expectNoValue(stdout, stderr, await hostTraces());
  });
});
