// Issue 11's input edges and issue 15's target rules: each refused before anything connects (exit 64), named.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';
import { maskSecrets } from '../../src/shell/mask.js';

const base = { interactive: false, faultNames: ['build-fails'], version: '0.1.0' };

// Parses argv in a fresh directory (config file optional), with HOME set and nothing else in the environment.
async function parseIn(argv: string[], files: Record<string, string> = {}, env: Record<string, string> = {}): Promise<Command> {
  const dir = await mkdtemp(join(tmpdir(), 'awf-edges-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return parseArgs(argv.map((a) => a.replaceAll('$DIR', dir)), { ...base, env: { HOME: '/home/op', ...env }, cwd: dir });
}

async function refused(argv: string[], files: Record<string, string> = {}, env: Record<string, string> = {}): Promise<UsageError> {
  const error = await parseIn(argv, files, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${JSON.stringify(argv)} was accepted`).toBeInstanceOf(UsageError);
  expect((error as UsageError).exitCode).toBe(64);
  return error as UsageError;
}

const NO_CONFIG = ['--ssh-config', 'none', '--dry-run'];

describe('numbers are plain decimal', () => {
  it.each(['0x10', '1e3', ' 22 ', '22.0', '+22', ''])('--port %j is refused', async (value) => {
    const error = await refused(['--port', value, ...NO_CONFIG]);
    expect(error.message).toMatch(/--port/);
  });

  it('--port 2222 and a config file port 2200 are taken', async () => {
    await expect(parseIn(['--port', '2222', ...NO_CONFIG])).resolves.toMatchObject({ options: { port: 2222 } });
    await expect(parseIn(NO_CONFIG, { 'apply-ws-fix.config.json': '{"port": 2200}' })).resolves.toMatchObject({ options: { port: 2200 } });
  });

  it.each([
    ['--connect-timeout', '1e308'],
    ['--connect-timeout', '100000'],
    ['--start-timeout', '1e308'],
    ['--settle', 'Infinity'],
    ['--settle', '0x10'],
  ])('%s %s is refused with its bound', async (flag, value) => {
    const error = await refused([flag, value, ...NO_CONFIG]);
    expect(error.message).toContain(flag);
    expect(error.message).toMatch(/to 3600/);
  });

  it('timeouts within the bound are taken, fractions too', async () => {
    await expect(parseIn(['--connect-timeout', '3600', '--settle', '0.5', ...NO_CONFIG])).resolves.toMatchObject({ options: { connectTimeoutMs: 3_600_000, settleMs: 500 } });
  });

  it('--concurrency 0x10 is refused', async () => {
    const error = await refused(['--host', 'a.example', '--host', 'b.example', '--concurrency', '0x10', ...NO_CONFIG]);
    expect(error.message).toMatch(/--concurrency/);
  });
});

describe('a flag given twice', () => {
  it.each([
    [['--known-hosts', 'a', '--known-hosts', 'b'], '--known-hosts'],
    [['--dir', 'a', '--dir', 'b'], '--dir'],
    [['--port', '22', '--port', '23'], '--port'],
    [['--identity', 'a', '--identity=b'], '--identity'],
  ])('%j is a usage error naming the flag', async (argv, flag) => {
    const error = await refused([...argv, ...NO_CONFIG]);
    expect(error.message).toContain(`${flag} was given more than once`);
  });

  it('--host may repeat (a fleet), and a boolean twice is the same boolean', async () => {
    await expect(parseIn(['--host', 'a.example', '--host', 'b.example', ...NO_CONFIG])).resolves.toMatchObject({ kind: 'fleet' });
    await expect(parseIn(['--dry-run', ...NO_CONFIG])).resolves.toMatchObject({ kind: 'run' });
  });
});

describe('config file keys', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('%s is an unknown setting', async (key) => {
    const error = await refused(NO_CONFIG, { 'apply-ws-fix.config.json': `{${JSON.stringify(key)}: "x"}` });
    expect(error.message).toContain(`unknown setting ${JSON.stringify(key)}`);
  });
});

describe('masking', () => {
  it('masks a quoted NAME="value" inside a line, keeping the quotes', () => {
    expect(maskSecrets('ocapistaine-1  | starting with API_TOKEN="s3cr3t value" and DB_PASS=\'hunter2\' now')).toBe('ocapistaine-1  | starting with API_TOKEN="***" and DB_PASS=\'***\' now');
    expect(maskSecrets('x OCAPISTAINE_TARGET_URL="https://t"', ['OCAPISTAINE_TARGET_URL'])).toBe('x OCAPISTAINE_TARGET_URL="https://t"');
  });
});

describe('hosts files', () => {
  const fleet = (text: string, extra: string[] = []) => parseIn(['--hosts-file', '$DIR/proxies.txt', ...extra, ...NO_CONFIG], { 'proxies.txt': text });

  it.each([
    ['op@:2222', /proxies\.txt:2: "op@:2222" names no host/],
    ['@proxy-2', /proxies\.txt:2: "@proxy-2" has nothing before the @/],
    ['proxy-2:', /proxies\.txt:2: "proxy-2:" has nothing after the colon/],
    ['proxy-2:0x10', /proxies\.txt:2: the port "0x10"/],
    ['proxy-2:70000', /proxies\.txt:2: the port 70000/],
    ['proxy-2 https://two.example extra', /proxies\.txt:2: a third column "extra"/],
    ['proxy-2 ftp://two.example', /proxies\.txt:2: the url/],
    ['bad;host', /proxies\.txt:2: the host "bad;host"/],
    ['b;d@proxy-2', /proxies\.txt:2: the user "b;d"/],
  ])('line %j is refused, naming the file and line', async (line, message) => {
    const error = await refused(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], { 'proxies.txt': `proxy-1\n${line}\n` });
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/^--(url|port)/);
  });

  it('a # inside a URL is kept, and a word with # in it is not cut', async () => {
    const command = await fleet('# proxies\nproxy-1 https://one.example/#frag # the first\nproxy-2 https://two.example/a#b\n');
    expect(command).toMatchObject({ kind: 'fleet', runs: [{ host: 'proxy-1', params: { url: 'https://one.example/#frag' } }, { host: 'proxy-2', params: { url: 'https://two.example/a#b' } }] });
    const error = await refused(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], { 'proxies.txt': 'proxy-1\nproxy-2#x\n' });
    expect(error.message).toMatch(/proxies\.txt:2: the host "proxy-2#x"/);
  });
});

describe('the fleet is exactly what the flags name', () => {
  const file = { 'proxies.txt': 'proxy-1\nproxy-2\n' };

  it('APPLY_WS_FIX_HOST does not join a --hosts-file fleet', async () => {
    const command = await parseIn(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], file, { APPLY_WS_FIX_HOST: 'extra.example' });
    expect(command.kind === 'fleet' && command.runs.map((r) => r.host)).toEqual(['proxy-1', 'proxy-2']);
  });

  it('"host" in the config file does not join a --hosts-file fleet', async () => {
    const command = await parseIn(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], { ...file, 'apply-ws-fix.config.json': '{"host": "extra.example"}' });
    expect(command.kind === 'fleet' && command.runs.map((r) => r.host)).toEqual(['proxy-1', 'proxy-2']);
  });

  it('"hosts-file" in the config file does not join a single --host', async () => {
    const command = await parseIn(['--host', 'only.example', ...NO_CONFIG], { ...file, 'apply-ws-fix.config.json': '{"hosts-file": "proxies.txt"}' });
    expect(command).toMatchObject({ kind: 'run', options: { host: 'only.example' } });
  });

  it('with no target flag, the environment\'s host wins over the file\'s hosts-file (a default, not an extra)', async () => {
    const command = await parseIn(NO_CONFIG, { ...file, 'apply-ws-fix.config.json': '{"hosts-file": "proxies.txt"}' }, { APPLY_WS_FIX_HOST: 'env.example' });
    expect(command).toMatchObject({ kind: 'run', options: { host: 'env.example' } });
  });

  it('with no target flag, a config file hosts-file is the fleet', async () => {
    const command = await parseIn(NO_CONFIG, { ...file, 'apply-ws-fix.config.json': '{"hosts-file": "proxies.txt"}' });
    expect(command.kind === 'fleet' && command.runs.map((r) => r.host)).toEqual(['proxy-1', 'proxy-2']);
  });
});

describe('duplicate targets', () => {
  it('127.0.0.1, localhost and jnxmas@localhost are one target: exit 64 naming all three', async () => {
    const error = await refused(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], { 'proxies.txt': '127.0.0.1\nlocalhost\njnxmas@localhost\n' });
    expect(error.message).toMatch(/proxies\.txt:1 \(jnxmas@127\.0\.0\.1:22\), \S*proxies\.txt:2 \(jnxmas@localhost:22\), \S*proxies\.txt:3 \(jnxmas@localhost:22\) are one target/);
  });

  it('--host twice with the same host is refused', async () => {
    const error = await refused(['--host', '127.0.0.1', '--host', '127.0.0.1', ...NO_CONFIG]);
    expect(error.message).toMatch(/--host 127\.0\.0\.1 .* are one target/);
  });

  it('another port, another user (its own home) or another absolute --dir is another target', async () => {
    await expect(parseIn(['--hosts-file', '$DIR/proxies.txt', ...NO_CONFIG], { 'proxies.txt': '127.0.0.1\nlocalhost:2222\nop@localhost\n' })).resolves.toMatchObject({ kind: 'fleet' });
  });
});
