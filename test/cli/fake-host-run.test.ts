// `apply-ws-fix fake-host -- <command>` as CI uses it: the README's recipe run exactly as written, under a time
// limit, and nothing of it may outlive it; the command's exit code, its process group reaped on exit and on a signal,
// the start-up timeout, the ready file, and a private TMPDIR left empty (the host's keys and project are gone).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { killAll, runTree, survivorsAfter, type TreeResult } from '../helpers/processes.js';

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** The first ```sh block of the README's CI section: the recipe the test must run as written. */
export function readmeRecipe(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith('CI: run it against a mocked SSH host'));
  if (section === undefined) throw new Error('README.md has no "## CI: run it against a mocked SSH host" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('the README\'s CI section has no ```sh block');
  return block[1]!;
}

let work = '';
let checkout = '';
let temp = '';
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
  work = await mkdtemp(join(tmpdir(), 'awf-ci-recipe-'));
  // A pipeline's checkout with apply-ws-fix installed: node_modules/.bin/apply-ws-fix, as npm makes it.
  checkout = join(work, 'checkout');
  await mkdir(join(checkout, 'node_modules', '.bin'), { recursive: true });
  await writeFile(join(checkout, 'package.json'), '{ "name": "a-pipeline", "private": true }\n');
  const bin = join(checkout, 'node_modules', '.bin', 'apply-ws-fix');
  await writeFile(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
  await chmod(bin, 0o755);
  temp = join(work, 'tmp');
  await mkdir(temp);
  // No terminal, no colour, no npm update check, no registry: npx must find the local bin or fail.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|APPLY_WS_FIX_)/i.test(key)));
  env = { ...clean, TMPDIR: temp, NO_COLOR: '1', CI: '1', NO_UPDATE_NOTIFIER: '1', npm_config_offline: 'true', npm_config_yes: 'false' };
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const explain = (r: TreeResult): string => `exit ${r.exitCode} signal ${r.signal} in ${r.ms} ms${r.timedOut ? ' (TIMED OUT)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function expectNothingLeft(r: TreeResult): Promise<void> {
  const survivors = await survivorsAfter(r.marker);
  killAll(survivors);
  expect(survivors, `processes outlived the run:\n${survivors.map((p) => `${p.pid} ${p.cmdline}`).join('\n')}\n${explain(r)}`).toEqual([]);
  expect(readdirSync(temp), 'left in TMPDIR').toEqual([]);
}

describe("the README's CI recipe, as written", () => {
  it('runs to exit 0 within the time limit, leaves no process and no file behind', async () => {
    const recipe = readmeRecipe(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(recipe).toMatch(/fake-host/);
    const before = readdirSync(checkout, { recursive: true }).map(String).sort();
    // As a CI runner's `run:` step runs it: bash -e, pipefail.
    const r = await runTree('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', recipe], { cwd: checkout, env, limitMs: 120_000 });
    // What must never happen first: a process outliving the recipe, a file left in the checkout, a hang.
    await expectNothingLeft(r);
    expect(readdirSync(checkout, { recursive: true }).map(String).sort(), 'files written in the checkout').toEqual(before);
    expect(r.timedOut, explain(r)).toBe(false);
    expect(r.exitCode, explain(r)).toBe(0);
    // The apply's JSON report reached stdout, and the recipe really ran against the host.
    expect(r.stdout).toMatch(/"outcome": "applied"/);
    expect(r.stdout).toMatch(/Rolled back: the previous config is running again/);
  }, 150_000);
});

describe('fake-host -- <command>', () => {
  const fakeHost = (args: string[], onSpawn?: (pid: number) => void) =>
    runTree(process.execPath, [CLI, 'fake-host', ...args], { cwd: work, env, limitMs: 60_000, ...(onSpawn ? { onSpawn } : {}) });

  it('gives the command the target in APPLY_WS_FIX_* variables, which apply-ws-fix reads with no flags', async () => {
    const script = `node -e 'console.log(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("APPLY_WS_FIX_")))))' && "${process.execPath}" "${CLI}" --dry-run --json`;
    const r = await fakeHost(['--', 'sh', '-ec', script]);
    expect(r.exitCode, explain(r)).toBe(0);
    const [line, ...rest] = r.stdout.split('\n');
    const vars = JSON.parse(line!) as Record<string, string>;
    expect(Object.keys(vars).sort()).toEqual(['APPLY_WS_FIX_DIR', 'APPLY_WS_FIX_HOST', 'APPLY_WS_FIX_IDENTITY', 'APPLY_WS_FIX_KNOWN_HOSTS', 'APPLY_WS_FIX_PORT', 'APPLY_WS_FIX_SERVICE', 'APPLY_WS_FIX_SSH_CONFIG', 'APPLY_WS_FIX_URL', 'APPLY_WS_FIX_USER']);
    expect(vars).toMatchObject({ APPLY_WS_FIX_HOST: '127.0.0.1', APPLY_WS_FIX_USER: 'jnxmas', APPLY_WS_FIX_SSH_CONFIG: 'none' });
    expect(vars['APPLY_WS_FIX_URL']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const report = JSON.parse(rest.join('\n')) as { outcome: string; port: number; dir: string };
    expect(report).toMatchObject({ outcome: 'dry-run', port: Number(vars['APPLY_WS_FIX_PORT']), dir: vars['APPLY_WS_FIX_DIR'] });
    await expectNothingLeft(r);
  }, 60_000);

  it("exits with the command's code and kills what the command left running in its group", async () => {
    const pidFile = join(work, 'bg.pid');
    const r = await fakeHost(['--', 'sh', '-c', `sleep 300 & echo $! > ${pidFile}; exit 7`]);
    expect(r.exitCode, explain(r)).toBe(7);
    expect(r.ms).toBeLessThan(20_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    expect(() => process.kill(pid, 0), `sleep ${pid} survived`).toThrow();
    await expectNothingLeft(r);
  }, 60_000);

  it('a signal to fake-host reaches the command, ends its group, and exits 128 + the signal', async () => {
    const pidFile = join(work, 'fg.pid');
    await rm(pidFile, { force: true });
    let fakeHostPid = 0;
    const running = fakeHost(['--', 'sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], (pid) => (fakeHostPid = pid));
    const deadline = Date.now() + 30_000;
    while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(pidFile), 'the command never started').toBe(true);
    process.kill(fakeHostPid, 'SIGTERM');
    const r = await running;
    expect(r.exitCode, explain(r)).toBe(143);
    expect(r.ms).toBeLessThan(20_000);
    await expectNothingLeft(r);
  }, 60_000);

  it('a command that does not exist: exit 127, and the host is stopped', async () => {
    const r = await fakeHost(['--', 'no-such-command-awf']);
    expect(r.exitCode, explain(r)).toBe(127);
    expect(r.stderr).toMatch(/cannot run no-such-command-awf: command not found/);
    await expectNothingLeft(r);
  }, 60_000);

  it('a bad --fault exits 64 at once, before any host starts', async () => {
    const r = await fakeHost(['--fault', 'nope', '--', 'true']);
    expect(r.exitCode, explain(r)).toBe(64);
    expect(r.stderr).toMatch(/unknown fault "nope"/);
    await expectNothingLeft(r);
  }, 30_000);

  it('a host that does not start within --ready-timeout: exit 3, the command never runs, nothing left', async () => {
    const r = await fakeHost(['--ready-timeout', '0.001', '--', 'sh', '-c', `touch ${join(work, 'ran')}`]);
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.stderr).toMatch(/did not start within 0\.001 s/);
    expect(existsSync(join(work, 'ran'))).toBe(false);
    await expectNothingLeft(r);
  }, 30_000);

  it('--ready-file appears whole once the host serves and is removed when it stops', async () => {
    const ready = join(work, 'ready', 'fake-host.json');
    await mkdir(join(work, 'ready'), { recursive: true });
    let pid = 0;
    const running = fakeHost(['--json', '--ready-file', ready], (p) => (pid = p));
    const deadline = Date.now() + 30_000;
    while (!existsSync(ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const info = JSON.parse(readFileSync(ready, 'utf8')) as { port: number; env: Record<string, string> };
    expect(info.env['APPLY_WS_FIX_PORT']).toBe(String(info.port));
    // Only the file itself: the temp file it was written to was renamed into place.
    expect(readdirSync(join(work, 'ready'))).toEqual(['fake-host.json']);
    process.kill(pid, 'SIGTERM');
    const r = await running;
    expect(r.exitCode, explain(r)).toBe(0);
    expect(existsSync(ready)).toBe(false);
    await expectNothingLeft(r);
  }, 60_000);

  it('--help lists only its own flags', async () => {
    const r = await fakeHost(['--help']);
    expect(r.exitCode, explain(r)).toBe(0);
    const options = r.stdout.slice(r.stdout.indexOf('Options:'));
    const flags = [...options.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]);
    expect(flags.sort()).toEqual(['--fault', '--help', '--json', '--port', '--ready-file', '--ready-timeout', '--streamlit']);
  }, 30_000);
});
