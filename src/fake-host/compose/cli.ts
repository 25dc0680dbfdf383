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
        return upstreamCurl(emulator, io);
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

// The host's `curl` (a shim on the fake host's PATH) reaching the upstream: the fake host never lets a request
// leave the machine, so it answers for the tunnel as the faults say: down → curl's "could not resolve", else 200.
function upstreamCurl(emulator: ComposeEmulator, io: CommandIO): number {
  if (emulator.options.faults.has('upstream-down')) {
    io.out('000');
    io.err('curl: (6) Could not resolve host: ocapistaine.ngrok-free.app\n');
    return 6;
  }
  io.out('200');
  return 0;
}
