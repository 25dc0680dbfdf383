import type { Directive } from './parse.js';

export interface IncomingRequest {
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface ProxyRoute {
  location: string;
  proxyPass?: string;
  returnCode?: number;
  // the request headers the upstream receives, lower-case names, after nginx's hop-by-hop handling
  upstreamHeaders: Record<string, string>;
  // the response headers add_header sets, from the innermost level that has any (nginx's inheritance)
  addHeaders: { name: string; value: string; always: boolean }[];
}

// What the proxy in the live config does with one request: which location, which upstream, which headers.
export function routeRequest(tree: readonly Directive[], request: IncomingRequest): ProxyRoute | undefined {
  const server = tree.find((d) => d.name === 'server');
  if (!server?.block) return undefined;
  const location = matchLocation(server.block, request.path);
  const levels = [location?.block ?? [], server.block, tree as Directive[]];
  const proxyPass = location?.block?.find((d) => d.name === 'proxy_pass')?.args[0];
  const ret = location?.block?.find((d) => d.name === 'return');
  const vars = variableResolver(tree, request, proxyPass);

  // proxy_set_header is inherited only by a level that sets none of its own.
  const setHeaders = levels.map((level) => level.filter((d) => d.name === 'proxy_set_header')).find((list) => list.length > 0) ?? [];
  const addHeaders = (levels.map((level) => level.filter((d) => d.name === 'add_header')).find((list) => list.length > 0) ?? []).map((d) => ({
    name: d.args[0] ?? '',
    value: (d.args[1] ?? '').replace(/\$(?:\{(\w+)\}|(\w+))/g, (_m, a?: string, b?: string) => vars(a ?? b ?? '')),
    always: d.args[2] === 'always',
  }));
  const version = levels.map((level) => level.find((d) => d.name === 'proxy_http_version')).find(Boolean)?.args[0] ?? '1.0';

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  // nginx never forwards these hop-by-hop headers by itself, and talks HTTP/1.0 unless told otherwise.
  delete headers.upgrade;
  delete headers.connection;
  delete headers['keep-alive'];
  headers.host = vars('proxy_host');
  headers.connection = 'close';
  for (const d of setHeaders) {
    const name = (d.args[0] ?? '').toLowerCase();
    const value = (d.args[1] ?? '').replace(/\$(?:\{(\w+)\}|(\w+))/g, (_m, a?: string, b?: string) => vars(a ?? b ?? ''));
    if (value === '') delete headers[name];
    else headers[name] = value;
  }
  if (version !== '1.1') delete headers.upgrade;

  return {
    location: location ? location.args.join(' ') : '',
    ...(proxyPass !== undefined ? { proxyPass } : {}),
    ...(ret ? { returnCode: Number(ret.args[0]) } : {}),
    upstreamHeaders: headers,
    addHeaders,
  };
}

// True when the upstream would see a WebSocket upgrade request.
export function upstreamSeesUpgrade(route: ProxyRoute): boolean {
  const upgrade = route.upstreamHeaders.upgrade ?? '';
  const connection = route.upstreamHeaders.connection ?? '';
  return /\bwebsocket\b/i.test(upgrade) && connection.split(',').some((t) => t.trim().toLowerCase() === 'upgrade');
}

// nginx's location choice: exact "=" first, then the longest prefix (regex locations are not modelled).
function matchLocation(block: Directive[], path: string): Directive | undefined {
  const locations = block.filter((d) => d.name === 'location');
  const exact = locations.find((d) => d.args.length === 2 && d.args[0] === '=' && d.args[1] === path);
  if (exact) return exact;
  let best: Directive | undefined;
  let bestLength = -1;
  for (const d of locations) {
    const prefix = d.args.length === 1 ? d.args[0] : d.args[0] === '^~' ? d.args[1] : undefined;
    if (prefix !== undefined && path.startsWith(prefix) && prefix.length > bestLength) {
      best = d;
      bestLength = prefix.length;
    }
  }
  return best;
}

// Values of the variables a header may use: request headers, $host, $proxy_host and map results.
function variableResolver(
  tree: readonly Directive[],
  request: IncomingRequest,
  proxyPass: string | undefined,
): (name: string) => string {
  const header = (name: string): string => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  const maps = new Map(tree.filter((d) => d.name === 'map').map((d) => [(d.args[1] ?? '').replace(/^\$/, ''), d]));
  const resolve = (name: string, depth = 0): string => {
    if (depth > 10) return '';
    if (name.startsWith('http_')) return header(name.slice(5).replace(/_/g, '-'));
    if (name === 'host') return header('host').replace(/:\d+$/, '').toLowerCase();
    if (name === 'proxy_host') return /^https?:\/\/([^/]+)/i.exec(proxyPass ?? '')?.[1] ?? '';
    if (name === 'scheme') return 'http';
    if (name === 'remote_addr') return '127.0.0.1';
    if (name === 'proxy_add_x_forwarded_for') return header('x-forwarded-for') ? `${header('x-forwarded-for')}, 127.0.0.1` : '127.0.0.1';
    const map = maps.get(name);
    if (map) return evaluateMap(map, (source) => resolve(source, depth + 1));
    return '';
  };
  return (name) => resolve(name);
}

// A map block: exact keys, ~ and ~* regex keys, then default ("" when there is none).
function evaluateMap(map: Directive, resolve: (name: string) => string): string {
  const source = (map.args[0] ?? '').replace(/^\$\{?(\w+)\}?$/, '$1');
  const input = resolve(source);
  let fallback = '';
  const expand = (value: string): string => value.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_m, a?: string, b?: string) => resolve(a ?? b ?? ''));
  for (const entry of map.block ?? []) {
    const value = entry.args[0] ?? '';
    if (entry.name === 'default') fallback = value;
    else if (entry.name.startsWith('~*')) {
      if (new RegExp(entry.name.slice(2), 'i').test(input)) return expand(value);
    } else if (entry.name.startsWith('~')) {
      if (new RegExp(entry.name.slice(1)).test(input)) return expand(value);
    } else if (entry.name === input) return expand(value);
  }
  return expand(fallback);
}
