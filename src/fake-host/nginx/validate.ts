import { DIRECTIVES, isBuiltinVariable, type Context } from './directives.js';
import { NginxConfigError, parseNginx, type Directive } from './parse.js';

export const NGINX_CONF = '/etc/nginx/nginx.conf';

export interface NginxCheckOptions {
  // fault reject-new-config: the file is read where `map` is not allowed
  rejectUpgradeMap?: boolean;
}

export type NginxCheck =
  | { ok: true; tree: Directive[] }
  | { ok: false; message: string }; // "<detail> in /etc/nginx/nginx.conf:N", without "nginx: [emerg] "

// Checks a rendered template the way `nginx -t` does with it included inside `http {}`.
export function checkNginxConfig(text: string, options: NginxCheckOptions = {}): NginxCheck {
  try {
    const tree = parseNginx(text);
    checkBlock(tree, 'http', options);
    checkVariables(tree);
    return { ok: true, tree };
  } catch (error) {
    if (!(error instanceof NginxConfigError)) throw error;
    const where = error.line === undefined ? '' : ` in ${NGINX_CONF}:${error.line}`;
    return { ok: false, message: `${error.detail}${where}` };
  }
}

// Context, arity, block shape, duplicates and value checks, depth first like nginx's handlers.
function checkBlock(directives: Directive[], context: Context, options: NginxCheckOptions): void {
  const seen = new Set<string>();
  const locations = new Set<string>();
  for (const d of directives) {
    const spec = DIRECTIVES[d.name];
    if (!spec) throw new NginxConfigError(`unknown directive "${d.name}"`, d.line);
    if (d.name === 'map' && options.rejectUpgradeMap && d.args[0] === '$http_upgrade') {
      throw new NginxConfigError('"map" directive is not allowed here', d.line);
    }
    if (!spec.contexts.includes(context)) throw new NginxConfigError(`"${d.name}" directive is not allowed here`, d.line);
    if (spec.block && !d.block) throw new NginxConfigError(`directive "${d.name}" has no opening "{"`, d.line);
    if (!spec.block && d.block) throw new NginxConfigError(`directive "${d.name}" is not terminated by ";"`, d.line);
    const [min, max] = spec.args;
    if (d.args.length < min || d.args.length > max) {
      throw new NginxConfigError(`invalid number of arguments in "${d.name}" directive`, d.line);
    }
    if (!spec.repeat && seen.has(d.name)) throw new NginxConfigError(`"${d.name}" directive is duplicate`, d.line);
    seen.add(d.name);
    checkValue(d, spec.kind);
    if (d.name === 'location') {
      const key = d.args.join(' ');
      if (locations.has(key)) throw new NginxConfigError(`duplicate location "${d.args[d.args.length - 1]}"`, d.line);
      locations.add(key);
    }
    if (d.name === 'map') checkMapEntries(d);
    else if (d.name === 'upstream') checkBlock(d.block ?? [], 'upstream', options);
    else if (d.block && d.name !== 'map') checkBlock(d.block, innerContext(d.name, context), options);
  }
}

// The context a block opens: server and location open their own, if keeps its parent's rules.
function innerContext(name: string, outer: Context): Context {
  if (name === 'server') return outer === 'upstream' ? 'upstream' : 'server';
  if (name === 'location') return 'location';
  if (name === 'if') return 'if';
  return outer;
}

// on/off flags, time and size values and proxy_pass URLs, with nginx's wording.
function checkValue(d: Directive, kind: string | undefined): void {
  const value = d.args[0] ?? '';
  if (kind === 'flag' && value !== 'on' && value !== 'off') {
    throw new NginxConfigError(`invalid value "${value}" in "${d.name}" directive, it must be "on" or "off"`, d.line);
  }
  if (kind === 'time' && !d.args.every((a) => /^(\d+(ms|s|m|h|d|w|M|y)?)+$/.test(a))) {
    throw new NginxConfigError(`"${d.name}" directive invalid value`, d.line);
  }
  if (kind === 'size' && !/^\d+[kKmMgG]?$/.test(value)) {
    throw new NginxConfigError(`"${d.name}" directive invalid value`, d.line);
  }
  if (kind === 'url' && !value.includes('$')) {
    const match = /^(https?):\/\/([^/]*)/i.exec(value);
    if (!match) throw new NginxConfigError(`invalid URL prefix in "${value}"`, d.line);
    if ((match[2] ?? '') === '') throw new NginxConfigError(`no host in "${value}" of the "proxy_pass" directive`, d.line);
  }
  if (d.name === 'proxy_http_version' && value !== '1.0' && value !== '1.1') {
    throw new NginxConfigError(`invalid value "${value}" in "proxy_http_version" directive, it must be "1.0" or "1.1"`, d.line);
  }
}

// map entries are "key value;" pairs (or hostnames/volatile), never blocks.
function checkMapEntries(d: Directive): void {
  for (const entry of d.block ?? []) {
    if (entry.block) throw new NginxConfigError('unexpected "{"', entry.line);
    const words = [entry.name, ...entry.args];
    const flag = words.length === 1 && (entry.name === 'hostnames' || entry.name === 'volatile');
    if (!flag && words.length !== 2 && !(entry.name === 'include' && words.length === 2)) {
      throw new NginxConfigError('invalid number of the map parameters', entry.line);
    }
  }
}

// Every $var used must be built in or defined by map/set; nginx reports this without a line.
function checkVariables(tree: Directive[]): void {
  const defined = new Set<string>();
  const used: string[] = [];
  const walk = (directives: Directive[], inMap: boolean): void => {
    for (const d of directives) {
      if (d.name === 'map' && d.block) {
        const target = d.args[1] ?? '';
        defined.add(target.replace(/^\$/, ''));
        used.push(...variablesIn(d.args[0] ?? ''));
        for (const entry of d.block) used.push(...entry.args.flatMap(variablesIn));
        continue;
      }
      if (d.name === 'set') defined.add((d.args[0] ?? '').replace(/^\$/, ''));
      if (!inMap) used.push(...d.args.flatMap(variablesIn));
      if (d.block) walk(d.block, false);
    }
  };
  walk(tree, false);
  for (const name of used) {
    if (!defined.has(name) && !isBuiltinVariable(name)) throw new NginxConfigError(`unknown "${name}" variable`, undefined);
  }
}

// Names of $var and ${var} in one argument.
export function variablesIn(arg: string): string[] {
  return [...arg.matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)].map((m) => m[1] ?? m[2] ?? '');
}
