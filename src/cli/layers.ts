// Settings below the flags: environment variables (APPLY_WS_FIX_HOST, …) over a config file
// (apply-ws-fix.config.json in the current directory, or --config FILE) over the runbook's defaults.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** The settings a file or the environment may give: the run's own, never an action (--yes, --rollback). */
export const LAYERED_KEYS = [
  'host', 'port', 'user', 'identity', 'known-hosts', 'ssh-config', 'dir', 'service', 'url',
  'settle', 'start-timeout', 'connect-timeout', 'concurrency', 'hosts-file', 'runbook',
] as const;

export type LayeredKey = (typeof LAYERED_KEYS)[number];

export interface Layers {
  values: Partial<Record<LayeredKey, string>>;
  sources: Partial<Record<LayeredKey, string>>;
  configFile: string | undefined;
  /** The runbook the file or the environment names. */
  runbook: string | undefined;
  /** The file's "params": the runbook's parameters by name. */
  params: Record<string, string>;
}

/** APPLY_WS_FIX_KNOWN_HOSTS for known-hosts. */
export function envName(key: LayeredKey): string {
  return `APPLY_WS_FIX_${key.toUpperCase().replaceAll('-', '_')}`;
}

const CAMEL: Record<string, LayeredKey> = Object.fromEntries(LAYERED_KEYS.map((key) => [key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()), key]));

// --config FILE or --config=FILE, read before yargs so its values can sit below the flags.
function configFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/** Reads the environment and the config file; a bad file or key is a usage error naming it. */
export async function loadLayers(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Layers> {
  const given = configFlag(argv);
  const path = given !== undefined ? resolve(cwd, given) : join(cwd, 'apply-ws-fix.config.json');
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (given !== undefined || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  const values: Layers['values'] = Object.create(null) as Layers['values'];
  const sources: Layers['sources'] = Object.create(null) as Layers['sources'];
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`the config file ${path} is not JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`the config file ${path} must hold one JSON object`);
    for (const [name, value] of Object.entries(parsed)) {
      if (name === 'params') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`the config file ${path}: params must be an object of NAME: value`);
        for (const [param, v] of Object.entries(value as Record<string, unknown>)) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new UsageError(`the config file ${path}: params.${param} must be a string, a number or a boolean`);
          params[param] = String(v);
        }
        continue;
      }
      const key = (LAYERED_KEYS as readonly string[]).includes(name) ? (name as LayeredKey) : Object.hasOwn(CAMEL, name) ? CAMEL[name] : undefined;
      if (key === undefined) throw new UsageError(`the config file ${path} has an unknown setting ${JSON.stringify(name)}`, `Settings: ${LAYERED_KEYS.join(', ')}`);
      if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`the config file ${path}: ${name} must be a string or a number`);
      values[key] = String(value);
      sources[key] = `file ${path}`;
    }
  }
  for (const key of LAYERED_KEYS) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') {
      values[key] = value;
      sources[key] = `env ${envName(key)}`;
    }
  }
  return { values, sources, configFile: text !== undefined ? path : undefined, runbook: values.runbook, params };
}
