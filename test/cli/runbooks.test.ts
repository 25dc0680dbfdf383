// Choosing a runbook and its parameters on the command line: names, paths, --param, env, config, stdin, secrets.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/errors.js';

const base = { env: { HOME: '/home/op' }, interactive: false, faultNames: [], version: '0.1.0' };

// A runbook module outside the repo, with a secret parameter; it imports the package by path as a user's would by name.
async function writeOutsideRunbook(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'awf-runbook-'));
  const api = new URL('../../src/index.ts', import.meta.url).pathname;
  const file = join(dir, 'rotate.mjs');
  await writeFile(
    file,
    `import { defineRunbook, param } from ${JSON.stringify(api)};
export default defineRunbook({
  id: 'outside', title: 'An outside runbook', description: 'for tests', connection: { host: 'h.example', port: 2222, user: 'op' },
  params: { dir: param.path({ default: '~/app', description: 'the project' }), token: param.secret({ description: 'the new token', required: true }), retries: param.number({ default: 3, description: 'how often' }) },
  project: (p) => p.dir,
  apply: () => ({ steps: [], checks: [] }),
});
`,
  );
  return file;
}

async function usage(argv: string[], extra: Partial<typeof base> & { readStdin?: () => Promise<string>; cwd?: string } = {}): Promise<UsageError> {
  const error = await parseArgs(argv, { ...base, ...extra }).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('--runbook and --param', () => {
  it('without --runbook, runs ocapistaine-ws-fix with its parameters as today', async () => {
    const command = await parseArgs(['--dry-run', '--dir', '/srv/v'], base);
    expect(command).toMatchObject({ kind: 'run', runbook: { id: 'ocapistaine-ws-fix' }, options: { params: { dir: '/srv/v', service: 'ocapistaine' } } });
  });

  it('--param sets a parameter; --dir is the same parameter; the later layer wins', async () => {
    const command = (await parseArgs(['--dry-run', '--param', 'service=web', '--param', 'url=https://x.example'], base)) as Extract<Command, { kind: 'run' }>;
    expect(command.options.params).toMatchObject({ service: 'web', url: 'https://x.example', dir: '~/vaettir' });
    const fromEnv = (await parseArgs(['--dry-run'], { ...base, env: { HOME: '/home/op', APPLY_WS_FIX_PARAM_SERVICE: 'fromenv' } })) as Extract<Command, { kind: 'run' }>;
    expect(fromEnv.options.params['service']).toBe('fromenv');
  });

  it('takes "params" from the config file', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'awf-config-'));
    await writeFile(join(cwd, 'apply-ws-fix.config.json'), JSON.stringify({ params: { service: 'filed' }, 'ssh-config': 'none' }));
    const command = (await parseArgs(['--dry-run'], { ...base, cwd })) as Extract<Command, { kind: 'run' }>;
    expect(command.options.params['service']).toBe('filed');
  });

  it('an unknown runbook, an unknown parameter or a bad value exits 64 and names the problem', async () => {
    const unknown = await usage(['--runbook', 'ocapistaine-ws-fx', '--dry-run']);
    expect(unknown.message).toMatch(/unknown runbook "ocapistaine-ws-fx"/);
    expect(unknown.remedy).toMatch(/ocapistaine-ws-fix/);
    expect(unknown.exitCode).toBe(64);
    expect((await usage(['--param', 'colour=red', '--dry-run'])).message).toMatch(/runbook ocapistaine-ws-fix has no parameter "colour"/);
    expect((await usage(['--param', 'url=ftp://x', '--dry-run'])).message).toMatch(/--url "ftp:\/\/x" must be http\(s\)/);
    expect((await usage(['--param', 'novalue', '--dry-run'])).message).toMatch(/is not NAME=VALUE/);
    expect((await usage(['--runbook', './nowhere.mjs', '--dry-run'])).message).toMatch(/no such file/);
  });

  it('a runbook by path: its connection defaults and parameters; a number parameter is typed', async () => {
    const file = await writeOutsideRunbook();
    const command = (await parseArgs(['--runbook', file, '--dry-run', '--param', 'retries=5'], { ...base, env: { HOME: '/home/op', APPLY_WS_FIX_PARAM_TOKEN: 's3cret' } })) as Extract<Command, { kind: 'run' }>;
    expect(command).toMatchObject({ runbook: { id: 'outside' }, options: { host: 'h.example', port: 2222, user: 'op', params: { dir: '~/app', token: 's3cret', retries: 5 } } });
    // --dir belongs to runbooks that declare it; this one does.
    expect((await usage(['--runbook', file, '--dry-run', '--service', 'x'], { env: { HOME: '/home/op', APPLY_WS_FIX_PARAM_TOKEN: 't' } })).message).toMatch(/--service: runbook outside has no parameter service/);
    expect((await usage(['--runbook', file, '--dry-run', '--param', 'retries=0x10'], { env: { HOME: '/home/op', APPLY_WS_FIX_PARAM_TOKEN: 't' } })).message).toMatch(/retries "0x10" is not a decimal number/);
  });

  it('a secret parameter is never taken from a flag; it comes from the environment or stdin, and is required', async () => {
    const file = await writeOutsideRunbook();
    const flag = await usage(['--runbook', file, '--dry-run', '--param', 'token=visible-in-ps']);
    expect(flag.message).toMatch(/--param token is a secret: it is never taken from a flag/);
    expect(flag.message).not.toContain('visible-in-ps');
    expect(flag.remedy).toMatch(/APPLY_WS_FIX_PARAM_TOKEN/);
    expect((await usage(['--runbook', file, '--dry-run'])).message).toMatch(/needs --param token/);
    const piped = (await parseArgs(['--runbook', file, '--dry-run', '--param', 'token=-'], { ...base, readStdin: async () => 'from-stdin\n' })) as Extract<Command, { kind: 'run' }>;
    expect(piped.options.params['token']).toBe('from-stdin');
    const cwd = await mkdtemp(join(tmpdir(), 'awf-config-'));
    await writeFile(join(cwd, 'apply-ws-fix.config.json'), JSON.stringify({ params: { token: 'in-a-file' } }));
    expect((await usage(['--runbook', file, '--dry-run'], { cwd })).message).toMatch(/the config file sets the secret parameter token/);
  });

  it('`runbooks` lists every runbook with its parameters; --runbook X --help shows X\'s', async () => {
    const out: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s), isTTY: false },
      stderr: { write: (s: string) => out.push(s), isTTY: false },
      stdin: Readable.from([]),
      env: { HOME: '/home/op' },
      onSignal: () => () => {},
    } as unknown as Parameters<typeof main>[1];
    expect(await main(['runbooks', '--json'], io)).toBe(0);
    const listed = JSON.parse(out.join('')) as { id: string; params: { name: string; default: unknown }[] }[];
    expect(listed.find((r) => r.id === 'ocapistaine-ws-fix')?.params.map((p) => p.name)).toEqual(['dir', 'service', 'url', 'keep-backups']);
    out.length = 0;
    const file = await writeOutsideRunbook();
    expect(await main(['--runbook', file, '--help'], io)).toBe(0);
    expect(out.join('')).toMatch(/Runbook: outside: for tests[\s\S]*token +the new token \[secret: env or stdin only\] \(required\)[\s\S]*retries +how often \(default: 3\)/);
  });
});
