// Errors as an operator meets them: on stderr, one or two lines (what failed, then the fix), said once.
// The built CLI is spawned for what it prints; parseArgs is called for what it decides.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { closest, flagsMissingValue, PASSPHRASE_ENV_NAME, unknownEnvWarnings } from '../../src/cli/suggest.js';
import { generateKeys } from '../../src/fake-host/keys.js';
import { packageRoot } from '../../src/paths.js';
import { PASSPHRASE_ENV } from '../../src/transport/credentials.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
let home = '';
const cli = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [CLI, ...args], { reject: false, extendEnv: false, env: { PATH: process.env['PATH'] ?? '', HOME: home, NO_COLOR: '1', ...env }, timeout: 30_000 });
const penv = { env: { HOME: '/home/op' }, interactive: false, faultNames: ['build-fails', 'up-fails'], version: '0.1.0' };
const parse = (argv: string[]) => parseArgs(argv, penv);

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
  home = await mkdtemp(join(tmpdir(), 'awf-errors-'));
});

// A port nothing listens on: bound, then closed, so the connection is refused.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a run that could not start', () => {
  it('says so on stderr in two lines, the failure once, and leaves only the task list on stdout', async () => {
    const key = join(home, 'id_ed25519');
    await writeFile(key, generateKeys().clientPrivate, { mode: 0o600 });
    const port = await closedPort();
    const r = await cli(['--host', '127.0.0.1', '--port', String(port), '--dry-run', '--identity', key, '--known-hosts', '/dev/null', '--ssh-config', 'none']);
    expect(r.exitCode, r.stderr).toBe(3);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^apply-ws-fix: could not start on jnxmas@127\\.0\\.0\\.1:${port} \\(nothing was changed\\): .*refused`));
    expect(lines[1]).not.toBe('');
    // The failure is said once, on stderr: stdout has the task list's lines, none of them the error again.
    expect(`${r.stdout}\n${r.stderr}`.match(/refused/g)).toHaveLength(1);
    expect(r.stdout).not.toMatch(/Could not start|What failed|What to do/);
    expect(r.stdout.trim().split('\n').length).toBeLessThanOrEqual(2);
  });

  it('--json keeps the report on stdout and the summary on stderr', async () => {
    const port = await closedPort();
    const r = await cli(['--host', '127.0.0.1', '--port', String(port), '--dry-run', '--json', '--known-hosts', '/dev/null', '--ssh-config', 'none']);
    expect(r.exitCode).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'could-not-start', exitCode: 3 });
    expect(r.stderr).toMatch(/Could not start: nothing was changed/);
  });
});

describe('usage errors', () => {
  it('--hots: exit 64, "did you mean --host?" on stderr, nothing on stdout', async () => {
    const r = await cli(['--hots', 'vaettir.locki.io']);
    expect(r.exitCode).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('apply-ws-fix: Unknown argument: hots\nDid you mean --host? Run apply-ws-fix --help.');
  });

  it('a mistyped command word gets the command, not a flag', async () => {
    const r = await cli(['hepl']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toMatch(/Did you mean help\?/);
  });

  it.each([[['--host']], [['--host', '--dry-run']], [['--host=']], [['--dry-run', '--host']]])('%j: --host needs a value', async (argv) => {
    const error = await parse(argv).then(() => undefined, (e: unknown) => e as Error & { exitCode: number; remedy: string });
    expect(error?.exitCode).toBe(64);
    expect(error?.message).toBe('--host needs a value');
    expect(error?.remedy).toMatch(/--host vaettir\.locki\.io/);
  });

  it('the CLI prints "--host needs a value" in two lines', async () => {
    const r = await cli(['--host']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr.trimEnd().split('\n')).toEqual(['apply-ws-fix: --host needs a value', 'For example: --host vaettir.locki.io. Run apply-ws-fix --help.']);
  });

  it('a bad number names what was typed, not NaN', async () => {
    await expect(parse(['--port', 'ssh', '--dry-run'])).rejects.toThrow('--port must be a whole number from 1 to 65535, not "ssh"');
    await expect(parse(['--settle', 'soon', '--dry-run'])).rejects.toThrow('--settle must be a number of seconds from 0 to 3600, not "soon"');
  });
});

describe('help and version as people type them', () => {
  it('-V prints the version', async () => {
    const r = await cli(['-V']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('`apply-ws-fix help` is --help, and `help fake-host` is fake-host --help', async () => {
    const [help, dashed, sub] = await Promise.all([cli(['help']), cli(['--help']), cli(['help', 'fake-host'])]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toBe(dashed.stdout);
    expect(sub.stdout).toMatch(/^apply-ws-fix fake-host \[options\]/);
  });
});

describe('APPLY_WS_FIX_* variables', () => {
  it('an unknown one is a warning on stderr, with the setting it looks like; the run goes on', async () => {
    const r = await cli(['--version'], { APPLY_WS_FIX_HOTS: 'h', APPLY_WS_FIX_HOST: 'vaettir.locki.io' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('apply-ws-fix: warning: APPLY_WS_FIX_HOTS is not a setting and is ignored: did you mean APPLY_WS_FIX_HOST?');
  });

  it('runbook parameters (APPLY_WS_FIX_PARAM_*), the passphrase and every setting are known', () => {
    expect(PASSPHRASE_ENV_NAME).toBe(PASSPHRASE_ENV);
    const env = { APPLY_WS_FIX_PARAM_TARGET_URL: 'x', APPLY_WS_FIX_PASSPHRASE: 'x', APPLY_WS_FIX_KNOWN_HOSTS: 'x', APPLY_WS_FIX_CONNECT_TIMEOUT: '1', APPLY_WS_FIX_HOSTS_FILE: 'x', OTHER: 'x' };
    expect(unknownEnvWarnings(env)).toEqual([]);
    expect(unknownEnvWarnings({ APPLY_WS_FIX_NOPE_NOPE_NOPE: '1' })).toEqual([expect.stringMatching(/^APPLY_WS_FIX_NOPE_NOPE_NOPE is not a setting and is ignored \(/)]);
  });
});

describe('suggestions', () => {
  it('closest finds a typo and refuses a stranger', () => {
    expect(closest('hots', ['host', 'port', 'user'])).toBe('host');
    expect(closest('dry-rn', ['dry-run', 'rollback'])).toBe('dry-run');
    expect(closest('xyz', ['host', 'port'])).toBeUndefined();
  });

  it('flagsMissingValue stops at --', () => {
    expect(flagsMissingValue(['fake-host', '--', 'x', '--port'], ['port'])).toEqual([]);
    expect(flagsMissingValue(['--port', '22', '--user'], ['port', 'user'])).toEqual(['user']);
  });
});
