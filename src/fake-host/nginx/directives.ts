// What nginx knows about the directives a proxy template uses: where each may appear, how many
// arguments it takes, whether it opens a block and whether it may repeat.

export type Context = 'http' | 'server' | 'location' | 'if' | 'upstream';

export interface DirectiveSpec {
  contexts: readonly Context[];
  args: readonly [min: number, max: number];
  block?: boolean;
  repeat?: boolean;
  kind?: 'flag' | 'time' | 'size' | 'url';
}

const HSL: readonly Context[] = ['http', 'server', 'location'];
const HSLI: readonly Context[] = ['http', 'server', 'location', 'if'];
const ANY = Number.POSITIVE_INFINITY;

// One entry per directive; unknown names are "unknown directive" errors, as in nginx.
export const DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {
  map: { contexts: ['http'], args: [2, 2], block: true, repeat: true },
  server: { contexts: ['http', 'upstream'], args: [0, ANY], block: true, repeat: true },
  upstream: { contexts: ['http'], args: [1, 1], block: true, repeat: true },
  location: { contexts: ['server', 'location'], args: [1, 2], block: true, repeat: true },
  if: { contexts: ['server', 'location'], args: [1, ANY], block: true, repeat: true },
  include: { contexts: ['http', 'server', 'location', 'upstream', 'if'], args: [1, 1], repeat: true },
  listen: { contexts: ['server'], args: [1, ANY], repeat: true },
  server_name: { contexts: ['server'], args: [1, ANY], repeat: true },
  resolver: { contexts: HSL, args: [1, ANY] },
  resolver_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  root: { contexts: [...HSLI], args: [1, 1] },
  alias: { contexts: ['location'], args: [1, 1] },
  index: { contexts: HSL, args: [1, ANY] },
  try_files: { contexts: ['server', 'location'], args: [2, ANY] },
  return: { contexts: ['server', 'location', 'if'], args: [1, 2], repeat: true },
  rewrite: { contexts: ['server', 'location', 'if'], args: [2, 3], repeat: true },
  set: { contexts: ['server', 'location', 'if'], args: [2, 2], repeat: true },
  add_header: { contexts: HSLI, args: [2, 3], repeat: true },
  access_log: { contexts: HSLI, args: [1, ANY], repeat: true },
  error_log: { contexts: HSL, args: [1, 2], repeat: true },
  error_page: { contexts: HSLI, args: [2, ANY], repeat: true },
  allow: { contexts: HSL, args: [1, 1], repeat: true },
  deny: { contexts: HSL, args: [1, 1], repeat: true },
  client_max_body_size: { contexts: HSL, args: [1, 1], kind: 'size' },
  client_body_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  keepalive_timeout: { contexts: HSL, args: [1, 2], kind: 'time' },
  send_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  sendfile: { contexts: HSLI, args: [1, 1], kind: 'flag' },
  tcp_nodelay: { contexts: HSL, args: [1, 1], kind: 'flag' },
  gzip: { contexts: HSLI, args: [1, 1], kind: 'flag' },
  chunked_transfer_encoding: { contexts: HSL, args: [1, 1], kind: 'flag' },
  default_type: { contexts: HSL, args: [1, 1] },
  charset: { contexts: HSLI, args: [1, 1] },
  large_client_header_buffers: { contexts: ['http', 'server'], args: [2, 2] },
  real_ip_header: { contexts: HSL, args: [1, 1] },
  set_real_ip_from: { contexts: HSL, args: [1, 1], repeat: true },
  proxy_pass: { contexts: ['location', 'if'], args: [1, 1], kind: 'url' },
  proxy_http_version: { contexts: HSL, args: [1, 1] },
  proxy_set_header: { contexts: HSL, args: [2, 2], repeat: true },
  proxy_hide_header: { contexts: HSL, args: [1, 1], repeat: true },
  proxy_pass_header: { contexts: HSL, args: [1, 1], repeat: true },
  proxy_redirect: { contexts: HSL, args: [1, 2], repeat: true },
  proxy_buffering: { contexts: HSL, args: [1, 1], kind: 'flag' },
  proxy_request_buffering: { contexts: HSL, args: [1, 1], kind: 'flag' },
  proxy_cache: { contexts: HSL, args: [1, 1] },
  proxy_cache_bypass: { contexts: HSL, args: [1, ANY], repeat: true },
  proxy_no_cache: { contexts: HSL, args: [1, ANY], repeat: true },
  proxy_buffer_size: { contexts: HSL, args: [1, 1], kind: 'size' },
  proxy_buffers: { contexts: HSL, args: [2, 2] },
  proxy_busy_buffers_size: { contexts: HSL, args: [1, 1], kind: 'size' },
  proxy_max_temp_file_size: { contexts: HSL, args: [1, 1], kind: 'size' },
  proxy_connect_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  proxy_send_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  proxy_read_timeout: { contexts: HSL, args: [1, 1], kind: 'time' },
  proxy_next_upstream: { contexts: HSL, args: [1, ANY] },
  proxy_intercept_errors: { contexts: HSL, args: [1, 1], kind: 'flag' },
  proxy_ssl_server_name: { contexts: HSL, args: [1, 1], kind: 'flag' },
  proxy_ssl_verify: { contexts: HSL, args: [1, 1], kind: 'flag' },
  proxy_ssl_name: { contexts: HSL, args: [1, 1] },
  proxy_ssl_protocols: { contexts: HSL, args: [1, ANY] },
  proxy_ssl_session_reuse: { contexts: HSL, args: [1, 1], kind: 'flag' },
  log_format: { contexts: ['http'], args: [2, ANY], repeat: true },
  limit_req_zone: { contexts: ['http'], args: [3, 4], repeat: true },
  limit_req: { contexts: HSL, args: [1, 3], repeat: true },
  keepalive: { contexts: ['upstream'], args: [1, 1] },
};

// Built-in variables (by name or prefix) that need no map or set.
const BUILTIN = new Set([
  'host', 'hostname', 'remote_addr', 'remote_port', 'remote_user', 'scheme', 'request', 'request_uri', 'uri',
  'document_uri', 'args', 'query_string', 'is_args', 'request_method', 'server_name', 'server_addr',
  'server_port', 'server_protocol', 'proxy_host', 'proxy_port', 'proxy_add_x_forwarded_for', 'status',
  'request_time', 'body_bytes_sent', 'bytes_sent', 'time_local', 'time_iso8601', 'msec', 'connection',
  'connection_requests', 'content_type', 'content_length', 'request_id', 'binary_remote_addr', 'nginx_version',
  'pid', 'realpath_root', 'document_root', 'request_body', 'https', 'upstream_addr', 'upstream_status',
  'upstream_response_time', 'upstream_connect_time', 'upstream_header_time', 'realip_remote_addr',
]);
const BUILTIN_PREFIXES = ['http_', 'sent_http_', 'upstream_http_', 'cookie_', 'arg_', 'upstream_cookie_', 'sent_trailer_'];

// Whether nginx defines $name by itself.
export function isBuiltinVariable(name: string): boolean {
  return BUILTIN.has(name) || BUILTIN_PREFIXES.some((prefix) => name.startsWith(prefix)) || /^\d+$/.test(name);
}
