// What `npm pack` ships, and that the tarball installs globally into a temporary prefix and runs --demo from
// anywhere: the path an operator takes with `npm install -g`, tested from the artefact rather than the repo.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; engines?: { node?: string } };
const BIN = Object.keys(PKG.bin)[0] ?? 'apply-ws-fix';

// npm test exports npm_config_prefix, npm_config_local_prefix, npm_command, … to its children; an npm started
// with those would act on this repo or /usr. Dropping every npm_* variable leaves what the machine's npmrc says.
const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^npm_/i.test(key)) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', NO_UPDATE_NOTIFIER: '1' };
};
const npm = (args: string[], cwd: string, timeout: number) =>
  execa('npm', args, { cwd, reject: false, extendEnv: false, env: cleanEnv(), timeout });

// Every file below dir (dotfiles too), as package-relative paths with forward slashes.
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

// ">=20.19" → does this Node satisfy it? Only the lower-bound form package.json uses is understood.
function satisfiesLowerBound(range: string, version: string): boolean {
  const want = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!want) return false;
  const have = version.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    const w = Number(want[i + 1] ?? 0);
    const h = have[i] ?? 0;
    if (h !== w) return h > w;
  }
  return true;
}

let work = '';
let tarball = '';
let packed: string[] = [];
let packedSize = 0;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) {
    throw new Error(`${join(ROOT, 'dist', 'src', 'cli.js')} is missing: the tarball ships the built code, so run \`npm run build\` first (npm test does).`);
  }
  work = await mkdtemp(join(tmpdir(), 'apply-ws-fix-pack-'));
  const { exitCode, stdout, stderr } = await npm(['pack', '--json', '--pack-destination', work], ROOT, 120_000);
  if (exitCode !== 0) throw new Error(`npm pack failed (exit ${exitCode}):\n${stderr}`);
  const [result] = JSON.parse(stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  if (!result) throw new Error(`npm pack --json printed no package:\n${stdout}`);
  tarball = join(work, result.filename);
  packed = result.files.map((file) => file.path).sort();
  packedSize = result.size;
}, 150_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the built CLI and runbook, the runbook template, the README and package.json', () => {
    expect(existsSync(tarball)).toBe(true);
    for (const path of ['package.json', 'README.md', 'dist/src/cli.js', 'dist/src/help-snapshot.json', 'dist/runbooks/ocapistaine-ws-fix/runbook.js', 'runbooks/ocapistaine-ws-fix/ocapistaine.conf.template']) {
      expect(packed, `${path} is not in the tarball`).toContain(path);
    }
    // Every compiled module of src/ and runbooks/ ships, or the installed CLI fails on an import.
    const built = [...filesUnder(join(ROOT, 'dist', 'src')), ...filesUnder(join(ROOT, 'dist', 'runbooks'))].filter((path) => path.endsWith('.js'));
    expect(built.filter((path) => !packed.includes(path))).toEqual([]);
    expect(packed).toContain(`${PKG.bin[BIN]?.replace(/^\.\//, '')}`);
  });

  it("ships every file of the fake host's project, the dotfile .env included", () => {
    const fixtures = filesUnder(join(ROOT, 'fixtures', 'fake-host'));
    expect(fixtures).toContain('fixtures/fake-host/vaettir/.env');
    expect(fixtures.filter((path) => !packed.includes(path))).toEqual([]);
  });

  it('ships nothing else: no TypeScript sources, tests, bench, CI files, scripts, docs or node_modules', () => {
    const allowed = [/^package\.json$/, /^schema\/report\.schema\.json$/, /^README\.md$/, /^CHANGELOG\.md$/, /^docs\/demo\.png$/, /^LICEN[CS]E(\.\w+)?$/i, /^dist\/(src|runbooks)\/.+\.(js|d\.ts)$/, /^dist\/src\/help-snapshot\.json$/, /^runbooks\/[^/]+\/[^/]+\.template$/, /^fixtures\/fake-host\//];
    expect(packed.filter((path) => !allowed.some((pattern) => pattern.test(path)))).toEqual([]);
    expect(packed).toContain('dist/src/index.d.ts');
    const forbidden = /(^|\/)node_modules\/|^(src|test|bench|scripts|\.ci|dist\/bench)\/|^docs\/(?!demo\.png$)|(?<!\.d)\.ts$/;
    expect(packed.filter((path) => forbidden.test(path))).toEqual([]);
  });

  it('ships the MIT LICENSE package.json names, and the CHANGELOG', () => {
    expect(packed).toContain('LICENSE');
    expect(packed).toContain('CHANGELOG.md');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toContain(`## ${PKG.version}`);
  });

  // The registry's page shows the README but resolves no path inside the package: the picture is shipped, and the
  // README points at this version's copy of it on a CDN that serves published packages' files.
  it("shows the README's pictures from the package: each one ships, and its URL names this version", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThan(0);
    const prefix = `https://cdn.jsdelivr.net/npm/${PKG.name}@${PKG.version}/`;
    for (const url of images) {
      expect(url.startsWith(prefix), `${url} is not served from the published package (${prefix}…)`).toBe(true);
      const path = url.slice(prefix.length);
      expect(packed, `${path} is not in the tarball`).toContain(path);
      expect(existsSync(join(ROOT, path))).toBe(true);
    }
  });

  // The maps point at ../../src/*.ts, which does not ship: in the tarball they are dead weight.
  it('ships no source maps, since their TypeScript sources do not ship', () => {
    const maps = packed.filter((path) => path.endsWith('.map'));
    expect(maps.length, `${maps.length} .map files ship (e.g. ${maps[0]}); leave them out with "!dist/**/*.map" in package.json's files`).toBe(0);
  });

  it('states the Node versions in engines, and this Node satisfies them', () => {
    const range = PKG.engines?.node;
    expect(range, 'package.json has no engines.node').toBeTruthy();
    expect(satisfiesLowerBound(range!, process.version), `${process.version} vs engines.node "${range}"`).toBe(true);
  });

  it('stays small: under 1 MB packed', () => {
    expect(packedSize).toBeGreaterThan(0);
    expect(packedSize).toBeLessThan(1_000_000);
  });
});

describe('the tarball installed with npm install -g into a temporary prefix', () => {
  let prefix = '';
  let outside = '';
  let bin = '';
  const run = (args: string[]) => execa(bin, args, { cwd: outside, reject: false, extendEnv: false, env: cleanEnv(), timeout: 90_000 });

  beforeAll(async () => {
    prefix = join(work, 'prefix');
    outside = join(work, 'elsewhere');
    await mkdir(outside, { recursive: true });
    // The runtime dependencies come from the registry (the cache first). npm warns that ssh2's and cpu-features'
    // install scripts did not run: ssh2 works without its optional native addon.
    const { exitCode, stderr } = await npm(['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], outside, 280_000);
    if (exitCode !== 0) throw new Error(`npm install -g --prefix ${prefix} ${tarball} failed (exit ${exitCode}):\n${stderr}`);
    bin = join(prefix, 'bin', BIN);
  }, 300_000);

  it('puts an executable bin with a node shebang on the prefix', async () => {
    expect(existsSync(bin), `${bin} was not created`).toBe(true);
    expect(relative(ROOT, outside).startsWith('..'), 'the test must run the tool outside the repo').toBe(true);
    const installed = join(prefix, 'lib', 'node_modules', PKG.name);
    expect((await readFile(join(installed, 'dist', 'src', 'cli.js'), 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(existsSync(join(installed, 'fixtures', 'fake-host', 'vaettir', '.env'))).toBe(true);
  });

  it('--version prints the package version', async () => {
    const { exitCode, stdout, stderr } = await run(['--version']);
    expect(exitCode, stderr).toBe(0);
    expect(stdout.trim()).toBe(PKG.version);
  });

  it('--help exits 0 and documents --demo', async () => {
    const { exitCode, stdout, stderr } = await run(['--help']);
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toContain('--demo');
  });

  it('installs without execa, which only the tests use', () => {
    const installed = join(prefix, 'lib', 'node_modules', PKG.name);
    expect(existsSync(join(installed, 'node_modules', 'ssh2')) || existsSync(join(prefix, 'lib', 'node_modules', 'ssh2')), 'a runtime dependency is missing').toBe(true);
    expect(existsSync(join(installed, 'node_modules', 'execa'))).toBe(false);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'execa'))).toBe(false);
  });

  it('fake-host -- <command> runs the installed CLI against the fake host, with no flags', async () => {
    const { exitCode, stdout, stderr } = await run(['fake-host', '--', bin, '--dry-run', '--json']);
    expect(exitCode, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'dry-run', exitCode: 0, host: '127.0.0.1' });
  }, 60_000);

  it('--check from the installed copy, outside the repo: the fake host needs the fix (exit 4)', async () => {
    const { exitCode, stdout, stderr } = await run(['fake-host', '--', bin, '--check', '--json']);
    expect(exitCode, stderr).toBe(4);
    expect(JSON.parse(stdout)).toMatchObject({ action: 'check', outcome: 'needs-change', exitCode: 4, check: { needsChange: true } });
  }, 60_000);

  it('--demo --json applies the fix to the fake host from the installed copy', async () => {
    const { exitCode, stdout, stderr } = await run(['--demo', '--settle', '0.5', '--json']);
    expect(exitCode, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'applied', exitCode: 0, tool: { name: PKG.name, version: PKG.version } });
  }, 120_000);
});

// A runbook a user wrote outside the repo (examples/security-headers), importing 'apply-ws-fix' from its own project's
// node_modules, run by the globally installed CLI with --runbook PATH against the fake host: apply, re-run, rollback.
describe('a runbook written outside the repo, against the installed package', () => {
  let prefix = '';
  let project = '';
  let host: FakeHost;
  const cli = (args: string[]) =>
    execa(join(prefix, 'bin', BIN), ['--runbook', './security-headers/runbook.mjs', '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--url', host.publicUrl, '--settle', '0.3', '--yes', '--json', ...args], { cwd: project, reject: false, extendEnv: false, env: cleanEnv(), timeout: 90_000 });

  beforeAll(async () => {
    prefix = join(work, 'prefix-example');
    project = join(work, 'ops-project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'ops-project', private: true, type: 'module' }, null, 2)}\n`);
    const [global, local] = await Promise.all([
      npm(['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], project, 280_000),
      npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project, 280_000),
    ]);
    for (const result of [global, local]) if (result.exitCode !== 0) throw new Error(`npm install of ${tarball} failed (exit ${result.exitCode}):\n${result.stderr}`);
    await cp(join(ROOT, 'examples', 'security-headers'), join(project, 'security-headers'), { recursive: true });
    host = await startFakeHost({ crashWindowMs: 150 });
  }, 300_000);

  afterAll(async () => {
    await host?.close();
  });

  it('applies, re-runs without a change, and rolls back', async () => {
    expect(relative(ROOT, project).startsWith('..'), 'the project must be outside the repo').toBe(true);
    const original = await readFile(host.templatePath);
    const applied = await cli([]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ runbook: 'security-headers', outcome: 'applied' });
    expect(await readFile(host.templatePath, 'utf8')).toContain('add_header X-Content-Type-Options "nosniff" always;');

    const again = await cli([]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'already-applied' });

    const back = await cli(['--rollback']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ outcome: 'rolled-back' });
    expect(await readFile(host.templatePath)).toEqual(original);
  }, 200_000);
});
