import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDocker } from './compose/cli.js';
import type { Container } from './compose/container.js';
import { ComposeEmulator } from './compose/emulator.js';
import { realClock, type Clock } from './clock.js';
import { startDockerBridge } from './docker-bridge.js';
import { installDockerScript } from './docker-script.js';
import { startEndpoint } from './endpoint/endpoint.js';
import type { FaultName } from './faults.js';
import { generateKeys, knownHostsLine } from './keys.js';
import { fixtureProjectDir } from './package-root.js';
import { seedRunningStack } from './seed-state.js';
import { startSshServer, type ExecInterceptor, type FakeHostStats } from './ssh/ssh-server.js';
import { makeTempRoot } from './temp-root.js';

export { FAULTS, isFaultName, type FaultName } from './faults.js';
export { ManualClock, realClock, type Clock } from './clock.js';
export { describeFakeHost } from './describe.js';

export interface FakeHostOptions {
  faults?: readonly FaultName[];
  port?: number;
  user?: string;
  streamlit?: 'seed' | 'tornado';
  composeJson?: 'ndjson' | 'array';
  /** How long a container with a bad config shows Up before it crash-loops (default 1000), on `clock`. */
  crashWindowMs?: number;
  /** How long `up` and `restart` take under the slow-start fault (default 3000), on `clock`. */
  slowStartMs?: number;
  /** The emulator's time (default: the wall clock); a ManualClock lets a test place a command inside a window. */
  clock?: Clock;
  /** The remote user's login shell, which runs every command as sshd does (default /bin/bash). */
  loginShell?: string;
  /** sshd_config's MaxSessions: session channels at once per connection (default 10, OpenSSH's). */
  maxSessions?: number;
  /** The tunnels that answer (origins); default: the fixture's ngrok URL and a spare one a retarget can point at. */
  upstreams?: readonly string[];
}

/** The tunnel the fixture's .env points at, and a second live one (a new ngrok URL, for a retarget). */
export const UPSTREAMS = ['https://ocapistaine.ngrok-free.app', 'https://ocapistaine-next.ngrok-free.app'] as const;

export interface ContainerView {
  name: string;
  service: string;
  state: 'running' | 'restarting' | 'exited';
  status: string;
  startedAt: number;
  imageId: string;
  renderedConfig: string;
  recreations: number;
}

export interface FakeHost {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsPath: string;
  readonly knownHostsLine: string;
  readonly hostKeyFingerprint: string;
  readonly publicUrl: string;
  readonly home: string;
  readonly projectDir: string;
  readonly templatePath: string;
  readonly faults: Set<FaultName>;
  /** Connections accepted, every command line received, and the most session channels one connection had open at once. */
  readonly stats: FakeHostStats;
  /** Set to break runs at a given command (tests): fail it, or cut the connection once it has run. */
  readonly intercept: { current: ExecInterceptor | undefined };
  /** The live tunnels by origin: delete one to take it down. */
  readonly upstreams: Set<string>;
  /** The upstream origin each proxied request reached, in order. */
  readonly upstreamHits: readonly string[];
  container(service?: string): ContainerView | undefined;
  close(): Promise<void>;
}

const PROJECT = 'vaettir';
const PROXY_SERVICE = 'ocapistaine';

// Starts the whole fake host: temp HOME with the project, keys, SSH server, docker bridge, endpoint.
export async function startFakeHost(options: FakeHostOptions = {}): Promise<FakeHost> {
  const temp = await makeTempRoot();
  const root = temp.path;
  const cleanups: Array<() => Promise<void>> = [temp.remove];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const user = options.user ?? 'jnxmas';
    const home = join(root, 'home', user);
    const binDir = join(root, 'bin');
    const keyDir = join(root, 'client');
    const projectDir = join(home, PROJECT);
    await Promise.all([mkdir(home, { recursive: true }), mkdir(binDir), mkdir(keyDir, { mode: 0o700 })]);
    await cp(fixtureProjectDir(), projectDir, { recursive: true });
    // The .env holds secrets: on a real host only its owner reads it.
    await chmod(join(projectDir, '.env'), 0o600);

    const faults = new Set<FaultName>(options.faults ?? []);
    const upstreams = new Set<string>(options.upstreams ?? UPSTREAMS);
    const emulator = new ComposeEmulator({
      faults,
      crashWindowMs: options.crashWindowMs ?? 1000,
      slowStartMs: options.slowStartMs ?? 3000,
      composeJson: options.composeJson ?? 'ndjson',
      proxyContainer: `${PROJECT}-${PROXY_SERVICE}-1`,
      upstreams,
      clock: options.clock ?? realClock,
    });
    seedRunningStack(emulator, projectDir);

    const token = randomBytes(24).toString('hex');
    const bridge = await startDockerBridge(token, (call, io) => runDocker(emulator, call, io));
    cleanups.push(() => bridge.close());
    await installDockerScript(binDir, bridge.port, token);

    const endpoint = await startEndpoint(emulator, options.streamlit ?? 'seed');
    cleanups.push(() => endpoint.close());

    const keys = generateKeys();
    const privateKeyPath = join(keyDir, 'id_ed25519');
    await writeFile(privateKeyPath, keys.clientPrivate, { mode: 0o600 });
    await writeFile(`${privateKeyPath}.pub`, `${keys.clientPublic} fake-host-client\n`, { mode: 0o644 });

    const stats: FakeHostStats = { connections: 0, commands: [], peakSessions: 0, sessionsOpened: 0, channelLog: [] };
    const intercept: { current: ExecInterceptor | undefined } = { current: undefined };
    const ssh = await startSshServer({
      intercept,
      hostPrivateKey: keys.hostPrivate,
      clientPublicKey: keys.clientPublic,
      port: options.port ?? 0,
      user,
      home,
      binDir,
      shell: options.loginShell ?? '/bin/bash',
      maxSessions: options.maxSessions ?? 10,
      stats,
    });
    cleanups.push(() => ssh.close());

    const line = knownHostsLine('127.0.0.1', ssh.port, keys.hostPublic);
    const knownHostsPath = join(keyDir, 'known_hosts');
    await writeFile(knownHostsPath, `${line}\n`, { mode: 0o644 });

    let closed: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port: ssh.port,
      user,
      privateKeyPath,
      knownHostsPath,
      knownHostsLine: line,
      hostKeyFingerprint: keys.hostKeyFingerprint,
      publicUrl: endpoint.url,
      home,
      projectDir,
      templatePath: join(projectDir, 'proxy-configs', `${PROXY_SERVICE}.conf.template`),
      faults,
      upstreams,
      upstreamHits: emulator.upstreamHits,
      stats,
      intercept,
      container: (service = PROXY_SERVICE) => {
        const container = emulator.containerOf(PROJECT, service);
        return container ? viewOf(emulator, container) : undefined;
      },
      close: () => (closed ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

// A snapshot for assertions; the emulator's records stay private.
function viewOf(emulator: ComposeEmulator, container: Container): ContainerView {
  const status = emulator.status(container);
  return {
    name: container.name,
    service: container.service,
    state: status.state,
    status: status.status,
    startedAt: container.startedAt,
    imageId: container.image.id,
    renderedConfig: container.renderedBytes.toString('utf8'),
    recreations: container.recreations,
  };
}
