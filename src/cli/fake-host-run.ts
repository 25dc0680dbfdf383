// `apply-ws-fix fake-host`: serve the built-in fake host, either until a signal or for the length of one command.
// The command form exists so that a CI job can never hang on it or leave anything behind: the host starts within a
// time limit or the command exits 3; the command runs in a process group of its own, and when it ends (or a signal
// comes) every process still in that group is killed, the host is closed and its temp directory removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EXIT, StartError, exitCodeOf as signalExitCode, messageOf, type StopSignal } from '../errors.js';
import { describeFakeHost, startFakeHost, type FakeHost, type FaultName } from '../fake-host/host.js';
import { shellJoin } from '../shell/quote.js';
import type { FakeHostCommand } from './fake-host-args.js';
import type { CliIO } from './main.js';

/** How long the command's process group gets to exit after SIGTERM before SIGKILL. */
const GRACE_MS = 5_000;

/** The environment a command run against the host gets: the settings apply-ws-fix itself reads, so it needs no flags. */
export function fakeHostEnv(host: FakeHost): Record<string, string> {
  return {
    APPLY_WS_FIX_HOST: host.host,
    APPLY_WS_FIX_PORT: String(host.port),
    APPLY_WS_FIX_USER: host.user,
    APPLY_WS_FIX_IDENTITY: host.privateKeyPath,
    APPLY_WS_FIX_KNOWN_HOSTS: host.knownHostsPath,
    APPLY_WS_FIX_URL: host.publicUrl,
    APPLY_WS_FIX_DIR: host.projectDir,
    APPLY_WS_FIX_SERVICE: 'ocapistaine',
    // The operator's ~/.ssh/config (a Host * with ProxyJump, say) must not redirect a connection to the fake host.
    APPLY_WS_FIX_SSH_CONFIG: 'none',
  };
}

/** The one JSON line a script reads to reach the host (stdout with --json, and the ready file). */
export function fakeHostJson(host: FakeHost): string {
  return JSON.stringify({
    host: host.host,
    port: host.port,
    user: host.user,
    identity: host.privateKeyPath,
    knownHosts: host.knownHostsPath,
    knownHostsLine: host.knownHostsLine,
    hostKeyFingerprint: host.hostKeyFingerprint,
    url: host.publicUrl,
    dir: host.projectDir,
    env: fakeHostEnv(host),
  });
}

// Starts the host, or fails with exit 3 once the time is up; a host that comes up after that is closed at once.
async function startWithin(command: FakeHostCommand): Promise<FakeHost> {
  const starting = startFakeHost({ port: command.port, streamlit: command.streamlit });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timeout'), command.readyTimeoutMs);
  });
  let first: FakeHost | 'timeout';
  try {
    first = await Promise.race([starting, timeout]);
  } catch (error) {
    const port = command.port ? ` on port ${command.port}` : '';
    throw new StartError(`the fake host could not start${port}: ${messageOf(error)}`, 'fake-host-start', command.port ? 'Pick a free port with --port, or leave --port out for any free one.' : undefined, error);
  } finally {
    clearTimeout(timer);
  }
  if (first === 'timeout') {
    // A start still under way gets a moment to finish and be closed, so that its temp directory goes too.
    await Promise.race([starting.then((late) => late.close(), () => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
    throw new StartError(`the fake host did not start within ${command.readyTimeoutMs / 1000} s`, 'fake-host-timeout', 'Give it longer with --ready-timeout SECONDS; a loaded machine may need it.');
  }
  for (const fault of command.faults) first.faults.add(fault as FaultName);
  return first;
}

// The ready file appears whole or not at all: written beside its final name, then renamed.
async function writeReadyFile(path: string, text: string): Promise<() => Promise<void>> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${process.pid}.${Date.now()}.fake-host-ready.tmp`);
  try {
    await writeFile(temp, `${text}\n`, { mode: 0o600 });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new StartError(`cannot write the ready file ${path}: ${messageOf(error)}`, 'fake-host-ready-file');
  }
  return () => rm(target, { force: true });
}

/** Serves the fake host until SIGINT/SIGTERM, or runs command.command against it; resolves to the exit code. */
export async function fakeHostCommand(io: CliIO, command: FakeHostCommand): Promise<number> {
  // A signal while the host starts still stops everything: the host is closed once it stands.
  let stopRequested: StopSignal | null = null;
  let onStop: ((signal: StopSignal) => void) | null = null;
  const unregister = io.onSignal((signal) => {
    stopRequested ??= signal;
    onStop?.(signal);
  });
  let host: FakeHost | undefined;
  let removeReadyFile: (() => Promise<void>) | undefined;
  try {
    const stopped = (): number | undefined => (stopRequested === null ? undefined : signalExitCode(stopRequested));
    host = await startWithin(command);
    const json = fakeHostJson(host);
    if (command.readyFile !== undefined && stopped() === undefined) removeReadyFile = await writeReadyFile(command.readyFile, json);
    // Checked after every await: a signal that came meanwhile found no waiter to wake.
    const early = stopped();
    if (early !== undefined) return early;
    if (command.command.length > 0) {
      io.stderr.write(`apply-ws-fix fake-host: serving ${host.host}:${host.port}${command.faults.length ? ` with ${command.faults.join(', ')}` : ''}; running ${shellJoin(command.command)}\n`);
      return await runAgainst(io, host, command.command, (handler) => (onStop = handler));
    }
    // --json: one line a CI script can read; otherwise the text a person reads.
    io.stdout.write(command.json ? `${json}\n` : `${describeFakeHost(host)}\n`);
    // Nothing awaits between the check above and here, so no signal can slip in before onStop is set.
    await new Promise<void>((resolveStop) => (onStop = () => resolveStop()));
    return EXIT.ok;
  } finally {
    unregister();
    await removeReadyFile?.();
    await host?.close();
  }
}

// The exit code of a child: its own, or 128 + the signal's number, as a shell reports it.
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

// Is any process of the group still alive? kill(-pgid, 0) answers without signalling.
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

// SIGTERM to what is left of the group, then SIGKILL after the grace period: nothing the command started survives it.
async function reapGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signalGroup(pgid, 'SIGKILL');
  while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 20));
}

// Runs the command in a new process group (its leader is the command), with the host's settings in its environment.
async function runAgainst(io: CliIO, host: FakeHost, argv: readonly string[], onSignal: (handler: (signal: StopSignal) => void) => void): Promise<number> {
  const [file, ...args] = argv as [string, ...string[]];
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: 'inherit', detached: true, env: { ...io.env, ...fakeHostEnv(host) } });
  } catch (error) {
    io.stderr.write(`apply-ws-fix fake-host: cannot run ${file}: ${messageOf(error)}\n`);
    return 127;
  }
  const pgid = child.pid;
  // If this process dies without running the finally below (an uncaught error), the group still goes with it.
  const lastResort = (): void => {
    if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
  };
  process.once('exit', lastResort);
  let interrupted: StopSignal | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  onSignal((signal) => {
    if (pgid === undefined) return;
    if (interrupted !== null) {
      signalGroup(pgid, 'SIGKILL');
      return;
    }
    interrupted = signal;
    // The command is in its own group, so a Ctrl-C at the terminal reached only us: pass it on, then insist.
    signalGroup(pgid, signal);
    killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), GRACE_MS);
  });
  try {
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((done) => {
      child.once('error', (error) => done({ error }));
      child.once('exit', (code, signal) => done({ code, signal }));
    });
    if ('error' in result) {
      const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
      io.stderr.write(`apply-ws-fix fake-host: cannot run ${file}: ${missing ? 'command not found' : result.error.message}\n`);
      return missing ? 127 : 126;
    }
    const code = exitCodeOf(result.code, result.signal);
    if (interrupted !== null && code === 0) return signalExitCode(interrupted);
    return code;
  } finally {
    clearTimeout(killTimer);
    if (pgid !== undefined) await reapGroup(pgid);
    process.off('exit', lastResort);
  }
}
