// The plain --help prints the text the build saved from yargs (src/cli/help-snapshot.ts): it must be yargs' text
// exactly, and a snapshot made from other files, or for another locale, must never be printed.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { englishLocale } from '../../src/cli/help-snapshot.js';
import { packageRoot } from '../../src/paths.js';

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const SAVED = join(ROOT, 'dist', 'src', 'help-snapshot.json');
const BUILT = join(ROOT, 'dist', 'src', 'cli', 'help-snapshot.js');
const work = mkdtempSync(join(tmpdir(), 'awf-help-snapshot-'));
// From an empty folder (no config file), with no APPLY_WS_FIX_* setting but those given.
const cli = (args: string[], env: Record<string, string> = {}) => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('APPLY_WS_FIX_')));
  return execa('node', [CLI, ...args], { cwd: work, reject: false, extendEnv: false, env: { ...clean, LC_ALL: 'C', ...env }, timeout: 30_000 });
};
type Built = typeof import('../../src/cli/help-snapshot.js');
const built = async (): Promise<Built> => (await import(pathToFileURL(BUILT).href)) as Built;

beforeAll(() => {
  if (!existsSync(SAVED)) throw new Error(`${SAVED} is missing: run npm run build first (npm test does).`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the saved --help', () => {
  it('is what yargs prints when it renders the help itself', async () => {
    // A setting from the environment (one that is no part of the help) makes the CLI render live.
    const live = await cli(['--help'], { APPLY_WS_FIX_SETTLE: '7' });
    const saved = await cli(['--help']);
    expect(live.exitCode).toBe(0);
    expect(saved.exitCode).toBe(0);
    expect(saved.stdout).toBe(live.stdout);
    expect((JSON.parse(readFileSync(SAVED, 'utf8')) as { text: string }).text).toBe(live.stdout);
  });

  it('is printed only with the fingerprint of the files this build has', async () => {
    const { savedHelp, helpFingerprint } = await built();
    const text = (JSON.parse(readFileSync(SAVED, 'utf8')) as { text: string }).text;
    const write = (fingerprint: string): URL => {
      const file = join(work, `snapshot-${fingerprint.slice(0, 8)}.json`);
      writeFileSync(file, JSON.stringify({ fingerprint, text }));
      return pathToFileURL(file);
    };
    expect(savedHelp(write(helpFingerprint()))).toBe(text);
    expect(savedHelp(write('0'.repeat(64)))).toBeUndefined();
    expect(savedHelp(pathToFileURL(join(work, 'none.json')))).toBeUndefined();
  });

  it("changes fingerprint with any file the help is made from: the options, the default runbook's meta, the faults", async () => {
    const { helpFingerprint } = await built();
    // A copy of the files the fingerprint reads, laid out as in dist/.
    const files = ['src/cli/args.js', 'src/cli/registry.js', 'src/fake-host/faults.js', 'src/core/options.js', 'src/core/params.js', 'runbooks/ocapistaine-ws-fix/meta.js'];
    const copy = join(work, 'dist');
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(ROOT, 'dist', file), join(copy, file));
    }
    const base = pathToFileURL(join(copy, 'src', 'cli', 'help-snapshot.js'));
    expect(helpFingerprint(base)).toBe(helpFingerprint());
    for (const file of ['src/cli/args.js', 'runbooks/ocapistaine-ws-fix/meta.js', 'src/fake-host/faults.js']) {
      const original = readFileSync(join(copy, file), 'utf8');
      writeFileSync(join(copy, file), `${original}\n// changed\n`);
      expect(helpFingerprint(base), file).not.toBe(helpFingerprint());
      writeFileSync(join(copy, file), original);
    }
    rmSync(join(copy, 'src', 'cli', 'args.js'));
    expect(() => helpFingerprint(base)).toThrow();
  });

  it('is English: it is used for the locales yargs prints in English, and no other', async () => {
    for (const [locale, english] of [['C', true], ['POSIX', true], ['C.UTF-8', true], ['en_US.UTF-8', true], ['en_GB', true], ['de_DE.UTF-8', false], ['pirate', false], ['fr', false]] as const) {
      expect(englishLocale({ LC_ALL: locale }), locale).toBe(english);
      // What yargs itself prints for that locale, rendering live.
      const live = await cli(['--help'], { LC_ALL: locale, APPLY_WS_FIX_SETTLE: '7' });
      expect(live.stdout.includes('\nOptions:\n'), `yargs in ${locale}`).toBe(english);
    }
    expect(englishLocale({})).toBe(true);
    // yargs reads LC_ALL, then LC_MESSAGES, then LANG, then LANGUAGE.
    expect(englishLocale({ LC_MESSAGES: 'de_DE', LANG: 'en_US' })).toBe(false);
    expect(englishLocale({ LANG: 'en_US', LANGUAGE: 'de' })).toBe(true);
  });

  it('is not printed in a narrower terminal, another locale, or with a setting from the environment', async () => {
    expect((await cli(['--help'], { LC_ALL: 'de_DE.UTF-8' })).stdout).toContain('\nOptionen:\n');
    // Beside another flag the help is parsed as ever, and its errors are yargs'.
    expect((await cli(['--help', '--bogus'])).exitCode).toBe(64);
  });
});
