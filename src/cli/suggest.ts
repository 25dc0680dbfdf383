// Typos get a suggestion instead of a bare refusal: --hots → --host, APPLY_WS_FIX_HOTS → APPLY_WS_FIX_HOST.
import { LAYERED_KEYS, envName } from './layers.js';

/** Edit distance (insert, delete, substitute, swap two neighbours), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to word, if it is close enough to be what was meant (a third of its length, at most 3). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** "Did you mean --host?" for yargs' "Unknown argument(s): hots, …", given the known flags and commands. */
export function suggestForUnknown(message: string, flags: readonly string[], commands: readonly string[], argv: readonly string[] = []): string | undefined {
  const match = /^Unknown arguments?: (.+)$/.exec(message);
  if (!match) return undefined;
  const hints: string[] = [];
  for (const word of match[1]!.split(', ')) {
    // yargs names a flag without its dashes: argv tells a mistyped flag (--hots) from a mistyped command (hepl).
    const typedAsFlag = argv.some((arg) => arg === `--${word}` || arg.startsWith(`--${word}=`) || arg === `-${word}`);
    const hint = typedAsFlag ? closest(word, flags) : closest(word, commands);
    if (hint !== undefined) hints.push(typedAsFlag ? `--${hint}` : hint);
  }
  return hints.length > 0 ? `Did you mean ${hints.join(', ')}?` : undefined;
}

/** The flags that take a value and were given none: `--host` last, `--host --dry-run`, `--host=`. */
export function flagsMissingValue(argv: readonly string[], valueFlags: readonly string[]): string[] {
  const missing: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name === undefined) continue;
    if (name.endsWith('=') && valueFlags.includes(name.slice(0, -1))) missing.push(name.slice(0, -1));
    else if (valueFlags.includes(name)) {
      const next = argv[i + 1];
      if (next === undefined || next === '' || next.startsWith('--')) missing.push(name);
    }
  }
  return missing;
}

const ENV_PREFIX = 'APPLY_WS_FIX_';
/** transport/credentials.ts's PASSPHRASE_ENV, spelled out: importing it would load ssh2 before --help (a test ties the two). */
export const PASSPHRASE_ENV_NAME = 'APPLY_WS_FIX_PASSPHRASE';
/** Runbook parameters (APPLY_WS_FIX_PARAM_<NAME>) are named by each runbook, so any name under it is accepted. */
const PARAM_PREFIX = 'APPLY_WS_FIX_PARAM_';

/** The environment variables apply-ws-fix reads. */
export function knownEnvNames(): string[] {
  return [...LAYERED_KEYS.map(envName), PASSPHRASE_ENV_NAME];
}

/** A warning for each APPLY_WS_FIX_* variable that nothing reads: a typo there is otherwise silently ignored. */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = knownEnvNames();
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !name.startsWith(PARAM_PREFIX) && !known.includes(name))
    .sort()
    .map((name) => {
      const near = closest(name.slice(ENV_PREFIX.length), known.map((k) => k.slice(ENV_PREFIX.length)));
      return `${name} is not a setting and is ignored${near ? `: did you mean ${ENV_PREFIX}${near}?` : ` (the settings are ${ENV_PREFIX}<OPTION>, for the options in --help)`}`;
    });
}
