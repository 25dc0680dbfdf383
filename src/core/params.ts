// Runbook parameters: typed specs with defaults, validated in one place, and the values a run holds.
import { sha256 } from '../lib/checksum.js';
import { UsageError } from '../errors.js';
import type { Action } from './options.js';
import type { AnyParams, ParamSpec, Runbook } from './types.js';

type Spec<T extends ParamSpec['type']> = Omit<ParamSpec, 'type'> & { type?: T };

/** Parameter specs, typed by kind: `param.url({ description, default })`. */
export const param = {
  string: (spec: Spec<'string'>): ParamSpec & { type: 'string' } => ({ ...spec, type: 'string' }),
  url: (spec: Spec<'url'>): ParamSpec & { type: 'url' } => ({ ...spec, type: 'url' }),
  /** A path on the remote host; a leading ~/ is the remote user's home. */
  path: (spec: Spec<'path'>): ParamSpec & { type: 'path' } => ({ ...spec, type: 'path' }),
  /** A plain name: letters, digits, _ . - (a Compose service, a container). */
  name: (spec: Spec<'name'>): ParamSpec & { type: 'name' } => ({ ...spec, type: 'name' }),
  number: (spec: Spec<'number'>): ParamSpec & { type: 'number' } => ({ ...spec, type: 'number' }),
  boolean: (spec: Spec<'boolean'>): ParamSpec & { type: 'boolean' } => ({ ...spec, type: 'boolean' }),
  /** A secret string: never a flag, never printed, logged or journaled. */
  secret: (spec: Omit<Spec<'string'>, 'secret' | 'default'>): ParamSpec & { type: 'string' } => ({ ...spec, type: 'string', secret: true }),
};

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

// The type's own rules; a problem in words, or undefined.
function typeProblem(spec: ParamSpec, value: string): string | undefined {
  if (value.includes('\0')) return 'must not contain a NUL byte';
  switch (spec.type) {
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return 'is not a URL';
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be http(s), not ${url.protocol}`;
      if (url.username || url.password) return 'must not carry credentials';
      return undefined;
    }
    case 'path':
      if (value === '' || /[\n\r]/.test(value)) return 'must be a path on one line';
      if (/^~[^/]/.test(value)) return "only ~/ (the remote user's home) is supported, not ~user";
      return undefined;
    case 'name':
      return NAME.test(value) ? undefined : 'is not a name (letters, digits, _ . -)';
    case 'number':
      return DECIMAL.test(value.trim()) && value.trim() === value ? undefined : 'is not a decimal number';
    case 'boolean':
      return /^(true|false|yes|no|1|0)$/i.test(value) ? undefined : 'is not true or false';
    case 'string':
      return undefined;
  }
}

function typed(spec: ParamSpec, value: string): string | number | boolean {
  if (spec.type === 'number') return Number(value);
  if (spec.type === 'boolean') return /^(true|yes|1)$/i.test(value);
  return value;
}

/** How a parameter is named in messages: its flag when it has one (--url), else --param NAME. */
export type ParamLabel = (name: string) => string;

export const paramLabel: ParamLabel = (name) => `--param ${name}`;

/** Checks one value against its spec; throws a UsageError naming the parameter and the problem. */
export function checkParam(name: string, spec: ParamSpec, value: string, label: ParamLabel = paramLabel): string | number | boolean {
  const problem = typeProblem(spec, value) ?? spec.validate?.(value);
  if (problem !== undefined) {
    const shown = spec.secret ? '(the secret value)' : JSON.stringify(value);
    throw new UsageError(`${label(name)} ${shown} ${problem}`, spec.description ? `${label(name)}: ${spec.description}` : undefined);
  }
  return typed(spec, value);
}

/**
 * The parameter values of a run: the given ones (strings, from flags, env, config or stdin) over the defaults.
 * Unknown names and missing required values are refused.
 */
export function resolveParams(runbook: Runbook, given: Readonly<Record<string, string>>, label: ParamLabel = paramLabel, action: Action = 'apply'): AnyParams {
  const values: Record<string, string | number | boolean> = Object.create(null) as Record<string, string | number | boolean>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(runbook.params, name)) {
      const known = Object.keys(runbook.params);
      throw new UsageError(`runbook ${runbook.id} has no parameter ${JSON.stringify(name)}`, `Its parameters: ${known.join(', ') || 'none'} (apply-ws-fix --runbook ${runbook.id} --help).`);
    }
  }
  for (const [name, spec] of Object.entries(runbook.params)) {
    const value = Object.hasOwn(given, name) ? given[name] : spec.default === undefined ? undefined : String(spec.default);
    if (value === undefined) {
      if (spec.required === true || (spec.required === 'apply' && action !== 'rollback')) {
        const how = spec.secret ? `APPLY_WS_FIX_PARAM_${envName(name)}=… or --param ${name}=- (read from stdin)` : `--param ${name}=…`;
        throw new UsageError(`runbook ${runbook.id} needs ${label(name)}: ${spec.description}`, `Give it with ${how}.`);
      }
      continue;
    }
    values[name] = checkParam(name, spec, value, label);
  }
  return values;
}

/** The environment variable of a parameter: APPLY_WS_FIX_PARAM_ + its name in upper case, dashes as underscores. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** The values of the secret parameters, for masking. */
export function secretValues(runbook: Runbook, params: AnyParams): string[] {
  return Object.entries(runbook.params).flatMap(([name, spec]) => (spec.secret && typeof params[name] === 'string' && params[name] !== '' ? [params[name]] : []));
}

/** How a secret is shown: never its value, only enough of its checksum to tell two apart. */
export function secretLabel(value: string): string {
  return `<secret, sha256 ${sha256(Buffer.from(value, 'utf8')).slice(0, 12)}…>`;
}

/** Parameter values safe to print and journal: secrets replaced by their label. */
export function printableParams(runbook: Runbook, params: AnyParams): Record<string, string | number | boolean> {
  const shown: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(params)) shown[name] = runbook.params[name]?.secret ? secretLabel(String(value)) : value;
  return shown;
}
