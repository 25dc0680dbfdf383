import { composeBuild } from './cmd-build.js';
import { composeConfig } from './cmd-config.js';
import { dockerExec, dockerInspect } from './cmd-docker.js';
import { composeExec, composeRun } from './cmd-exec.js';
import { composeLogs } from './cmd-logs.js';
import { composePs } from './cmd-ps.js';
import { composeRestart, composeStop } from './cmd-restart.js';
import { composeUp } from './cmd-up.js';
import { composeVersion } from './cmd-version.js';
import type { ComposeCommand } from './context.js';
import type { ComposeEmulator } from './emulator.js';
import { FlagError, parseFlags } from './flags.js';
import type { CommandIO } from './io.js';
import { ComposeError } from './project.js';

const COMPOSE_COMMANDS: Readonly<Record<string, ComposeCommand>> = {
  build: composeBuild,
  up: composeUp,
  ps: composePs,
  logs: composeLogs,
  exec: composeExec,
  run: composeRun,
  restart: composeRestart,
  stop: composeStop,
  config: composeConfig,
};

// Where and how docker was called on the remote host.
export interface DockerInvocation {
  pwd: string;
  argv: readonly string[];
  composeProfiles?: string;
}

const GLOBAL_FLAGS = [
  { long: 'profile', value: true },
  { long: 'file', short: 'f', value: true },
  { long: 'project-name', short: 'p', value: true },
  { long: 'project-directory', value: true },
  { long: 'env-file', value: true },
  { long: 'ansi', value: true },
  { long: 'progress', value: true },
  { long: 'parallel', value: true },
  { long: 'compatibility' },
  { long: 'all-resources' },
];

// The `docker` command line of the fake host: compose, exec, inspect and version.
export async function runDocker(emulator: ComposeEmulator, call: DockerInvocation, io: CommandIO): Promise<number> {
  const [command, ...rest] = call.argv;
  try {
    switch (command) {
      case undefined:
        io.out('\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers (fake host: compose, exec, inspect, version)\n');
        return 0;
      case '--version':
      case '-v':
        io.out('Docker version 20.10.24, build 297e128\n');
        return 0;
      case 'version':
        io.out('Client:\n Version:           20.10.24\n\nServer:\n Engine:\n  Version:          20.10.24\n');
        return 0;
      case 'compose':
        return await runCompose(emulator, call, rest, io);
      case '__upstream-curl':
        return upstreamCurl(emulator, rest, io);
      case 'exec':
        return dockerExec(emulator, rest, io);
      case 'inspect':
        return dockerInspect(emulator, rest, io);
      default:
        io.err(`docker: '${command}' is not a docker command.\nSee 'docker --help'\n`);
        return 1;
    }
  } catch (error) {
    if (error instanceof FlagError) {
      io.err(`${error.message}\nSee 'docker ${command ?? ''} --help'.\n`);
      return 125;
    }
    throw error;
  }
}

// docker compose [global flags] SUBCOMMAND [args]: load the project, then dispatch.
async function runCompose(emulator: ComposeEmulator, call: DockerInvocation, args: readonly string[], io: CommandIO): Promise<number> {
  const pwd = call.pwd;
  let subcommand = '';
  try {
    const global = parseFlags(args, GLOBAL_FLAGS, false);
    const [sub, ...subArgs] = global.positionals;
    subcommand = sub ?? '';
    if (sub === undefined) {
      io.out('\nUsage:  docker compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker\n');
      return 0;
    }
    if (sub === 'version') return await composeVersion({ io, args: subArgs });
    const handler = COMPOSE_COMMANDS[sub];
    if (!handler) {
      io.err(`unknown docker command: "compose ${sub}"\n`);
      return 1;
    }
    const project = emulator.project(pwd, {
      files: global.values('file'),
      ...(global.value('project-directory') !== undefined ? { projectDirectory: global.value('project-directory') } : {}),
      ...(global.value('project-name') !== undefined ? { projectName: global.value('project-name') } : {}),
      ...(global.value('env-file') !== undefined ? { envFile: global.value('env-file') } : {}),
    });
    for (const warning of project.warnings) io.err(warning);
    const fromFlags = global.values('profile').flatMap((p) => p.split(','));
    const profiles = fromFlags.length > 0 ? fromFlags : (call.composeProfiles ?? '').split(',').filter(Boolean);
    return await handler({ emulator, project, profiles, io, args: subArgs, subcommand: sub });
  } catch (error) {
    if (error instanceof FlagError) {
      io.err(`${error.message}\nSee 'docker compose ${subcommand ? `${subcommand} ` : ''}--help'.\n`);
      return 1;
    }
    if (error instanceof ComposeError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

// The host's `curl` (a shim on the fake host's PATH) reaching an upstream: the fake host never lets a request leave
// the machine, so it answers for the tunnels it knows: a live one answers as the app does (its health 200, or 503
// with the health-fails fault), any other name does not resolve. `-w '%{http_code}'`, `-o FILE` and `-f` as curl.
function upstreamCurl(emulator: ComposeEmulator, args: readonly string[], io: CommandIO): number {
  const url = args.find((a) => /^https?:\/\//i.test(a));
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const format = option('-w') ?? option('--write-out');
  const fail = args.some((a) => a === '-f' || a === '--fail' || (/^-[a-zA-Z]+$/.test(a) && a.includes('f') && !a.startsWith('--')));
  const write = (code: string): void => {
    if (format !== undefined) io.out(format.replace(/%\{http_code\}/g, code).replace(/\\n/g, '\n'));
  };
  if (url === undefined) {
    io.err('curl: (2) no URL specified\n');
    return 2;
  }
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  if (!emulator.upstreamAnswers(url)) {
    write('000');
    io.err(`curl: (6) Could not resolve host: ${host}\n`);
    return 6;
  }
  const path = new URL(url).pathname;
  const status = path === '/_stcore/health' && emulator.options.faults.has('health-fails') ? 503 : 200;
  const body = status === 200 ? (path === '/_stcore/health' ? 'ok' : '') : 'unavailable';
  if (option('-o') === undefined && option('--output') === undefined && !(fail && status >= 400)) io.out(body);
  write(String(status));
  if (fail && status >= 400) {
    io.err(`curl: (22) The requested URL returned error: ${status}\n`);
    return 22;
  }
  return 0;
}
