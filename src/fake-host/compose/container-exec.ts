import type { ComposeEmulator } from './emulator.js';
import type { Container, Image } from './container.js';
import type { CommandIO } from './io.js';
import { checkNginxConfig, NGINX_CONF } from '../nginx/validate.js';

// What a process inside the container sees: its files, its env, and nginx.
export interface ContainerView {
  image: Image;
  renderedBytes: Buffer;
  env: Array<[string, string]>;
}

// Runs CMD inside a container: cat, env, printenv, nginx -t/-T/-v; anything else is not in the image.
export function execInContainer(emulator: ComposeEmulator, view: ContainerView, argv: readonly string[], io: CommandIO): number {
  const [command, ...args] = argv;
  const name = (command ?? '').replace(/^\/(usr\/)?s?bin\//, '');
  switch (name) {
    case 'cat':
      return cat(view, args, io);
    case 'env':
      if (args.length > 0) return notEmulated(io, argv);
      io.out(view.env.map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    case 'printenv':
      return printenv(view, args, io);
    case 'nginx':
      return nginx(emulator, view, args, io);
    case 'true':
      return 0;
    case 'false':
      return 1;
    case 'echo':
      io.out(`${args.join(' ')}\n`);
      return 0;
    case 'sh':
    case 'bash':
    case 'ash':
      return notEmulated(io, argv);
    default:
      // As Docker 20.10 (runc 1.1) answers through Compose 2.26: exit 126, the runtime's message on stdout
      // (CRLF-terminated), nothing on stderr. Newer engines exit 127; a caller must accept both.
      io.out(
        `OCI runtime exec failed: exec failed: unable to start container process: exec: "${command ?? ''}": executable file not found in $PATH: unknown\r\n`,
      );
      return 126;
  }
}

// busybox cat over the container's few files.
function cat(view: ContainerView, paths: readonly string[], io: CommandIO): number {
  let code = 0;
  for (const path of paths) {
    const content = fileAt(view, path);
    if (content === undefined) {
      io.err(`cat: can't open '${path}': No such file or directory\n`);
      code = 1;
    } else {
      io.out(content);
    }
  }
  return code;
}

// The files a proxy check might read.
function fileAt(view: ContainerView, path: string): Buffer | undefined {
  if (path === NGINX_CONF) return view.renderedBytes;
  if (view.image.template && /^\/etc\/nginx\/templates\/[^/]+\.conf\.template$/.test(path)) return view.image.template;
  if (path === '/entrypoint.sh') return view.image.entrypoint;
  if (path === '/etc/hostname') return Buffer.from(`${view.env.find(([k]) => k === 'HOSTNAME')?.[1] ?? ''}\n`);
  return undefined;
}

// printenv NAME... prints values and fails when one is unset; bare printenv is env.
function printenv(view: ContainerView, names: readonly string[], io: CommandIO): number {
  if (names.length === 0) {
    io.out(view.env.map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  }
  let code = 0;
  for (const name of names) {
    const entry = view.env.find(([k]) => k === name);
    if (entry) io.out(`${entry[1]}\n`);
    else code = 1;
  }
  return code;
}

// nginx -t / -T / -v / -V against the container's rendered config.
function nginx(emulator: ComposeEmulator, view: ContainerView, args: readonly string[], io: CommandIO): number {
  if (args.includes('-v') || args.includes('-V')) {
    io.err('nginx version: nginx/1.27.2\n');
    return 0;
  }
  if (!args.includes('-t') && !args.includes('-T')) {
    return notEmulated(io, ['nginx', ...args]);
  }
  const quiet = args.includes('-q');
  const text = view.renderedBytes.toString('latin1');
  const check = view.image.template
    ? checkNginxConfig(text, { rejectUpgradeMap: emulator.options.faults.has('reject-new-config') })
    : ({ ok: true } as const);
  if (!check.ok) {
    io.err(`nginx: [emerg] ${check.message}\nnginx: configuration file ${NGINX_CONF} test failed\n`);
    return 1;
  }
  if (!quiet) {
    io.err(`nginx: the configuration file ${NGINX_CONF} syntax is ok\nnginx: configuration file ${NGINX_CONF} test is successful\n`);
  }
  if (args.includes('-T')) {
    io.out(Buffer.concat([Buffer.from(`# configuration file ${NGINX_CONF}:\n`), view.renderedBytes, Buffer.from('\n')]));
  }
  return 0;
}

// An honest refusal beats a wrong emulation.
function notEmulated(io: CommandIO, argv: readonly string[]): number {
  io.err(`fake host: \`${argv.join(' ')}\` is not emulated inside the container (cat, env, printenv, nginx -t/-T are)\n`);
  return 126;
}

// A running container's view for exec.
export function viewOf(emulator: ComposeEmulator, container: Container): ContainerView {
  return { image: container.image, renderedBytes: container.renderedBytes, env: emulator.containerEnv(container) };
}
