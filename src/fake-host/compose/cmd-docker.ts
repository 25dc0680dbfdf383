import { execInContainer, viewOf } from './container-exec.js';
import type { Container } from './container.js';
import { rfc3339Nano } from './docker-time.js';
import type { ComposeEmulator } from './emulator.js';
import { parseFlags } from './flags.js';
import { renderTemplate } from './go-template.js';
import type { CommandIO } from './io.js';

// docker exec [-i] [-t] [-e K=V] CONTAINER CMD...: by container name or id prefix.
export function dockerExec(emulator: ComposeEmulator, args: readonly string[], io: CommandIO): number {
  const flags = parseFlags(
    args,
    [
      { long: 'interactive', short: 'i' },
      { long: 'tty', short: 't' },
      { long: 'detach', short: 'd' },
      { long: 'user', short: 'u', value: true },
      { long: 'workdir', short: 'w', value: true },
      { long: 'env', short: 'e', value: true },
      { long: 'privileged' },
    ],
    false,
  );
  const [name, ...command] = flags.positionals;
  if (name === undefined || command.length === 0) {
    io.err('"docker exec" requires at least 2 arguments.\nSee \'docker exec --help\'.\n');
    return 1;
  }
  if (flags.has('tty') && flags.has('interactive')) {
    io.err('the input device is not a TTY\n');
    return 1;
  }
  const container = findContainer(emulator, name);
  if (!container) {
    io.err(`Error response from daemon: No such container: ${name}\n`);
    return 1;
  }
  const state = emulator.status(container).state;
  if (state === 'restarting') {
    io.err(`Error response from daemon: Container ${container.id} is restarting, wait until the container is running\n`);
    return 1;
  }
  if (state !== 'running') {
    io.err(`Error response from daemon: container ${container.id} is not running\n`);
    return 1;
  }
  const view = viewOf(emulator, container);
  return execInContainer(emulator, view, command, io);
}

// docker inspect NAME...: a JSON array; --format with {{.A.B}} and {{json .A}}.
export function dockerInspect(emulator: ComposeEmulator, args: readonly string[], io: CommandIO): number {
  const flags = parseFlags(args, [{ long: 'format', short: 'f', value: true }, { long: 'type', value: true }, { long: 'size', short: 's' }], true);
  if (flags.positionals.length === 0) {
    io.err('"docker inspect" requires at least 1 argument.\nSee \'docker inspect --help\'.\n');
    return 1;
  }
  const found: Record<string, unknown>[] = [];
  let code = 0;
  for (const name of flags.positionals) {
    const container = findContainer(emulator, name);
    if (!container) {
      io.err(`Error: No such object: ${name}\n`);
      code = 1;
      continue;
    }
    found.push(inspectObject(emulator, container));
  }
  const format = flags.value('format');
  if (format !== undefined) {
    for (const object of found) {
      const rendered = renderTemplate(format, object);
      if (rendered === undefined) {
        io.err(`template parsing error: fake host: only {{.Path}} and {{json .Path}} are emulated\n`);
        return 1;
      }
      io.out(`${rendered}\n`);
    }
  } else {
    io.out(`${JSON.stringify(found, null, 4)}\n`);
  }
  return code;
}

// By exact name, "/name", or id prefix, as the daemon resolves references.
function findContainer(emulator: ComposeEmulator, ref: string): Container | undefined {
  const name = ref.replace(/^\//, '');
  const byName = emulator.containers.get(name);
  if (byName) return byName;
  if (ref.length < 1) return undefined;
  return [...emulator.containers.values()].find((c) => c.id.startsWith(ref));
}

// The parts of docker's inspect document a tool would look at.
function inspectObject(emulator: ComposeEmulator, c: Container): Record<string, unknown> {
  const status = emulator.status(c);
  return {
    Id: c.id,
    Created: rfc3339Nano(c.createdAt),
    Path: c.entryPath,
    Args: ['nginx', '-g', 'daemon off;'],
    State: {
      Status: status.state,
      Running: status.state === 'running' || status.state === 'restarting',
      Paused: false,
      Restarting: status.state === 'restarting',
      OOMKilled: false,
      Dead: false,
      Pid: status.state === 'running' ? 4242 : 0,
      ExitCode: status.exitCode,
      Error: '',
      StartedAt: rfc3339Nano(c.startedAt),
      FinishedAt: c.stoppedAt !== undefined ? rfc3339Nano(c.stoppedAt) : '0001-01-01T00:00:00Z',
    },
    Image: c.image.id,
    Name: `/${c.name}`,
    RestartCount: Math.max(0, status.attempts.length - 1),
    Config: {
      Hostname: c.id.slice(0, 12),
      Env: emulator.containerEnv(c).filter(([k]) => k !== 'HOSTNAME' && k !== 'HOME').map(([k, v]) => `${k}=${v}`),
      Cmd: ['nginx', '-g', 'daemon off;'],
      Image: c.image.ref,
      Entrypoint: [c.entryPath],
      Labels: {
        'com.docker.compose.project': c.project,
        'com.docker.compose.project.working_dir': c.projectDir,
        'com.docker.compose.service': c.service,
        'com.docker.compose.container-number': '1',
        'com.docker.compose.config-hash': c.configHash,
        'com.docker.compose.version': '2.26.1',
      },
    },
    HostConfig: { RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } },
  };
}
