// `apply-ws-fix --help` as yargs renders it, saved by the build (npm run build writes dist/src/help-snapshot.json) so
// that the plain --help need not load yargs: loading it and laying the text out is most of --help's time, more than
// Node itself takes to start. The text is yargs' own, and it is used only where yargs would print the very same:
// the default runbook, no settings from the environment or a config file, 110 columns (not a terminal, or a wide
// one), an English locale, and built from the same files as this build. Anything else renders live.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_RUNBOOK } from './registry.js';

/** Where the build writes the snapshot, dist/src/help-snapshot.json (it ships; under vitest there is none in src/). */
export const HELP_SNAPSHOT = new URL('../help-snapshot.json', import.meta.url);

/** The widest the help is laid out, and so the width of the snapshot: stdout not a terminal, or one this wide or wider. */
export const HELP_WIDTH = 110;

export interface HelpSnapshot {
  /** Of the files the help is made from (see helpInputs), when the snapshot was rendered. */
  fingerprint: string;
  text: string;
}

// What the help text is made from: the option definitions and the usage (args), the default runbook's name
// (registry) and meta, the fault names, the timing defaults, the parameter kinds, and the yargs that lays it out.
const INPUTS = ['./args.js', './registry.js', '../fake-host/faults.js', '../core/options.js', '../core/params.js', `../../runbooks/${DEFAULT_RUNBOOK}/meta.js`];

/** A hash of every file the plain --help is made from, and of yargs' version; throws where one cannot be read. */
export function helpFingerprint(base: string | URL = import.meta.url): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) hash.update(readFileSync(new URL(input, base))).update('\0');
  hash.update(readFileSync(new URL(import.meta.resolve('yargs/package.json')))).update('\0');
  return hash.digest('hex');
}

/**
 * The locale yargs would translate its help into ("Options:", "[default: …]"), as it guesses it, and whether that is
 * English: en, en_*, C and POSIX (which has no translation of its own).
 */
export function englishLocale(env: NodeJS.ProcessEnv): boolean {
  const locale = (env['LC_ALL'] || env['LC_MESSAGES'] || env['LANG'] || env['LANGUAGE'] || 'en_US').replace(/[.:].*/, '');
  return locale === 'C' || locale === 'POSIX' || locale === 'en' || locale.startsWith('en_');
}

/** The saved text, if there is one and it was rendered from the files this build has; else undefined. */
export function savedHelp(file: URL = HELP_SNAPSHOT, base: string | URL = import.meta.url): string | undefined {
  let snapshot: Partial<HelpSnapshot>;
  try {
    snapshot = JSON.parse(readFileSync(file, 'utf8')) as Partial<HelpSnapshot>;
  } catch {
    return undefined;
  }
  if (typeof snapshot.text !== 'string' || typeof snapshot.fingerprint !== 'string') return undefined;
  try {
    return snapshot.fingerprint === helpFingerprint(base) ? snapshot.text : undefined;
  } catch {
    return undefined;
  }
}
