// The real e2e test host: OpenSSH sshd, a remote user whose ~/vaettir is a Compose project laid out like
// the seed's, and a real Docker Engine + Compose v2 (engine.ts) that runs the proxy's nginx container in
// front of a Streamlit-like HTTPS upstream. See test/e2e/README.md.
import { randomBytes, createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_REQUIRED, startEngine, type Engine } from './engine.js';
import { httpRequest } from './probes.js';
import { startSshd, type Sshd } from './sshd.js';
import {
  ensureUser,
  isAlive,
  listProcesses,
  mustRun,
  processesOfUid,
  run,
  setLoginShell,
  signal,
  sleep,
  terminateLeavesFirst,
  waitFor,
  type ExecResult,
  type UserInfo,
} from './system.js';
import { startRelay, startUpstream, type Relay, type Upstream, type UpstreamRequest } from './upstream.js';

export type { ExecResult } from './system.js';
export type { UpstreamRequest } from './upstream.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');
export const FIXTURE_DIR = join(REPO, 'fixtures', 'fake-host', 'vaettir');
// The broken template the host starts with, and the seed's fixed config.
export const BROKEN_TEMPLATE_PATH = join(FIXTURE_DIR, 'proxy-configs', 'ocapistaine.conf.template');
export const FIXED_TEMPLATE_PATH = join(REPO, 'runbooks', 'ocapistaine-ws-fix', 'ocapistaine.conf.template');
// What the harness adds to the project: the fault hook the Dockerfile runs at build time, and its files.
const PROJECT_EXTRAS = join(HERE, 'project');

export const PROJECT = 'vaettir';
export const SERVICE = 'ocapistaine';
export const CONTAINER = 'vaettir-ocapistaine-1';
export const TEMPLATE_REL = 'vaettir/proxy-configs/ocapistaine.conf.template';
export const PROFILE_ARGS = ['--profile', 'production', '--profile', 'proxy'] as const;
// The user's docker context: the client and Compose reach the test engine through it, whatever the login
// shell and with a stock sshd (no environment to pass).
export const DOCKER_CONTEXT = 'awf-e2e';

// Switches the test host understands. The Compose-side ones act at `docker compose build` (a hook the
// image build runs) and bite only a template that differs from the host's original (scope 'changed',
// the default) unless set with scope 'always'. The upstream ones act at once.
export const FAULTS = [
  'build-fails', // `docker compose build` fails (a build step exits 1: "no space left on device")
  'up-fails', // `up` fails: a dependency's container cannot start (exec permission denied); the new container stays Created
  'reject-new-config', // the image includes the template outside http {}: real nginx rejects it, crash loop
  'emerg-logs', // the container runs, and its logs carry a real nginx [emerg] line
  'blank-vars', // the entrypoint runs envsubst without a variable list: nginx's $variables vanish
  'stale-image', // build succeeds but the image keeps the original template: the container serves the old config
  'upstream-down', // the upstream stops listening: nginx answers 502
  'forbidden', // something in front of the app answers 403 to everything
  'no-handshake', // the app refuses the WebSocket upgrade, plain requests look right
  'health-fails', // /_stcore/health answers 503
  'origin-check', // the app refuses a WebSocket whose Origin host differs from Host (real Streamlit)
] as const;
export type FaultName = (typeof FAULTS)[number];
export type FaultScope = 'changed' | 'always';
export type UpstreamMode = 'seed' | 'tornado';
const BUILD_FAULTS: readonly FaultName[] = ['build-fails', 'up-fails', 'reject-new-config', 'emerg-logs', 'blank-vars', 'stale-image'];

export interface RealHostOptions {
  // The remote user; default awf-e2e-w<vitest worker id>, so parallel test files never share one.
  user?: string;
  // The template the host starts with (default: the broken fixture template).
  template?: string;
  // How the app answers a plain request on /_stcore/stream: 'seed' 426, 'tornado' GET 400 / HEAD 405.
  upstreamMode?: UpstreamMode;
  // The remote user's login shell (default /bin/bash); sshd runs every command with it.
  loginShell?: string;
  // sshd's MaxSessions; default: OpenSSH's own (10).
  maxSessions?: number;
}

export interface ContainerState {
  id: string;
  name: string;
  status: 'created' | 'running' | 'restarting' | 'exited';
  exitCode: number;
  restartCount: number;
  startedAtMs: number;
  finishedAtMs: number;
  nginxPid: number;
  imageId: string;
}

// One event of the engine (`docker events`): what changed, not what was read (exec is the exception).
export interface DockerEvent {
  time: number; // ms
  type: string; // container, image, network, volume
  action: string; // create, start, die, destroy, exec_create: …, tag, …
  name: string; // the container or image name
}

export interface RealHost {
  readonly host: '127.0.0.1';
  readonly port: number; // sshd
  readonly user: string;
  readonly uid: number;
  readonly home: string; // the remote user's home (same filesystem as the tests)
  readonly projectDir: string; // ~/vaettir
  readonly templatePath: string; // ~/vaettir/proxy-configs/ocapistaine.conf.template
  readonly privateKeyPath: string; // authorized
  readonly publicKey: string;
  readonly wrongPrivateKeyPath: string; // a valid key the host does not accept
  readonly knownHostsPath: string; // `[127.0.0.1]:PORT ssh-ed25519 …`
  readonly emptyKnownHostsPath: string; // the "unknown host key" case
  readonly mismatchedKnownHostsPath: string; // another key for [127.0.0.1]:PORT
  readonly publicUrl: string; // http://127.0.0.1:<mapped port>: nginx, "container port 80"
  readonly proxyPort: number;
  readonly upstreamUrl: string; // https://127.0.0.1:<port>: OCAPISTAINE_TARGET_URL
  readonly secret: string; // OCAPISTAINE_API_TOKEN's value: must never show in the tool's output
  readonly originalTemplate: string;
  readonly fixedTemplate: string;
  readonly logs: { sshd: string; dockerd: string; upstream: string };
  // What the tests ran against: the engine, Compose and the client the remote user's PATH finds.
  readonly versions: { engine: string; compose: string; client: string };
  readonly dockerClient: string; // the path of the docker client the remote user runs
  readonly netns: string; // the engine's network namespace: where the containers' loopback is

  // `ssh` client argv (without the command) for this host; override key/known_hosts per case.
  sshArgs(o?: { privateKeyPath?: string; knownHostsPath?: string }): string[];
  // Runs a command through the real ssh client.
  ssh(command: string, o?: { privateKeyPath?: string; knownHostsPath?: string; input?: string; timeoutMs?: number }): Promise<ExecResult>;
  // Runs a program as the remote user on the host, without SSH (fast, for assertions).
  runAsUser(cmd: string, args: readonly string[], o?: { cwd?: string; input?: string }): Promise<ExecResult>;
  // `docker …` as the remote user in ~/vaettir, without SSH (the same client, context and engine).
  docker(args: readonly string[]): Promise<ExecResult>;
  readFile(relToHome: string): string;
  writeFile(relToHome: string, content: string | Buffer): void;
  setFault(name: FaultName, o?: { scope?: FaultScope }): Promise<void>;
  // The next `docker compose build` holds for `seconds` in its last step; started() says once it holds
  // (and from then on no later build holds).
  holdNextBuild(seconds: number): { started: () => boolean };
  clearFault(name: FaultName): Promise<void>;
  clearFaults(): Promise<void>;
  setUpstreamMode(mode: UpstreamMode): void;
  upstreamRequests(): Promise<UpstreamRequest[]>;
  clearUpstreamRequests(): Promise<void>;
  // The proxy container as the engine sees it (docker inspect), undefined when there is none.
  container(): ContainerState | undefined;
  waitForContainer(pred: (s: ContainerState) => boolean, timeoutMs?: number): Promise<ContainerState>;
  // Runs fn while the container of a crash loop sits in Docker's back-off (state restarting, not between
  // two attempts): retried until the container stayed restarting, at the same attempt, throughout fn.
  whileRestarting<T>(fn: () => Promise<T>): Promise<T>;
  // stdout and stderr of the container (docker logs), together.
  containerLogs(): string;
  // The engine's events since a time (ms): containers created, started, destroyed, images tagged, execs.
  dockerEvents(sinceMs: number): DockerEvent[];
  dropSshConnections(): Promise<number>;
  // The remote user's login shell from the next SSH connection on (usermod -s); reset() keeps it.
  setLoginShell(shell: string): Promise<void>;
  // Back to the broken host as started: files, git, images, container, faults, upstream mode.
  reset(): Promise<void>;
  pids(): { sshd: number; dockerd: number; upstream: number; nginx: number };
  close(): Promise<void>;
}

const REQUIRED = [
  ...ENGINE_REQUIRED,
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/bin/ssh', 'openssh-client'],
  ['/usr/bin/ssh-keygen', 'openssh-client'],
  ['/usr/sbin/nginx', 'nginx'],
  ['/usr/bin/openssl', 'openssl'],
  ['/usr/bin/envsubst', 'gettext-base'],
  ['/usr/bin/git', 'git'],
  ['/usr/sbin/useradd', 'passwd'],
] as const;

// What is missing to run the real host here; empty when it can run.
export function realHostPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (the harness creates a user, runs sshd and a Docker Engine)');
  for (const [path, pkg] of REQUIRED) if (!existsSync(path)) missing.push(`${path} (apt package ${pkg})`);
  if (!existsSync(FIXED_TEMPLATE_PATH)) missing.push(FIXED_TEMPLATE_PATH);
  if (!existsSync(BROKEN_TEMPLATE_PATH)) missing.push(BROKEN_TEMPLATE_PATH);
  return missing;
}

// AWF_E2E_USER_PREFIX lets two checkouts on one machine run their e2e suites side by side.
function defaultUser(): string {
  return `${process.env.AWF_E2E_USER_PREFIX ?? 'awf-e2e-w'}${process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? '0'}`;
}

// One harness per user at a time: a lock file naming the owning pid (a dead owner's lock is taken over).
function lockUser(user: string): () => void {
  const dir = '/run/awf-e2e';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${user}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {}
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new Error(`test host user ${user} is in use by pid ${owner}: pass another user, or run e2e files one at a time`);
      }
      if (owner === process.pid) throw new Error(`this process already runs a test host as ${user}: close it first`);
      unlinkSync(path);
    }
  }
  throw new Error(`cannot lock test host user ${user}`);
}

function chownTree(path: string, u: UserInfo): void {
  chownSync(path, u.uid, u.gid);
  const stat = readdirSync(path, { withFileTypes: true });
  for (const entry of stat) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) chownTree(p, u);
    else chownSync(p, u.uid, u.gid);
  }
}

async function keygen(path: string, comment: string): Promise<string> {
  await mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

// compose.yaml of the fixture, as the test host runs it: no bridge network anywhere (host networking,
// which is the engine's own namespace, for the services and for the build's RUN step), and the proxy
// depending on e2e-gate, the switch of the up-fails fault.
export function composeYaml(): string {
  const fixture = readFileSync(join(FIXTURE_DIR, 'compose.yaml'), 'utf8');
  const edits: Array<[string, string]> = [
    ['    profiles: [production]\n', '    profiles: [production]\n    network_mode: host\n'],
    ['      dockerfile: proxy-configs/Dockerfile.ocapistaine\n', '      dockerfile: proxy-configs/Dockerfile.ocapistaine\n      network: host\n'],
    ['    profiles: [production, proxy]\n', '    profiles: [production, proxy]\n    network_mode: host\n    depends_on: [e2e-gate]\n'],
  ];
  let yaml = fixture;
  for (const [from, to] of edits) {
    if (!yaml.includes(from)) throw new Error(`${FIXTURE_DIR}/compose.yaml: no "${from.trim()}" line to adapt`);
    yaml = yaml.replace(from, to);
  }
  return `${yaml}  # The e2e test host's switch for the up-fails fault (test/e2e/harness/project/gate).
  e2e-gate:
    image: vaettir-ocapistaine
    entrypoint: ["/e2e/gate"]
    network_mode: host
    profiles: [production, proxy]
`;
}

// The fixture's Dockerfile and the two lines of the e2e fault hook.
function dockerfile(): string {
  const fixture = readFileSync(join(FIXTURE_DIR, 'proxy-configs', 'Dockerfile.ocapistaine'), 'utf8');
  return `${fixture}# e2e test host: fault switches (test/e2e/harness/project/fault-hook.sh); with no fault on they change nothing.
COPY .e2e/ /e2e/
RUN ["/bin/sh", "/e2e/fault-hook.sh"]
`;
}

// The docker client the remote user's PATH finds (the tests report its version).
function findDockerClient(path: string): string {
  for (const dir of path.split(':')) {
    const candidate = join(dir, 'docker');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no docker client on ${path}`);
}

export async function startRealHost(options: RealHostOptions = {}): Promise<RealHost> {
  const missing = realHostPrerequisites();
  if (missing.length) {
    throw new Error(`the real test host cannot run here, missing: ${missing.join('; ')}. Run: sudo bash test/e2e/install-deps.sh`);
  }
  const userName = options.user ?? defaultUser();
  const unlock = lockUser(userName);
  const cleanups: Array<() => Promise<void> | void> = [unlock];
  try {
    return await start(userName, options, cleanups);
  } catch (error) {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {}
    }
    throw error;
  }
}

async function start(userName: string, options: RealHostOptions, cleanups: Array<() => Promise<void> | void>): Promise<RealHost> {
  const u = await ensureUser(userName, options.loginShell);
  // Leftovers of a harness that died without close(): this user is ours now (we hold its lock).
  await terminateLeavesFirst((all) => all.filter((p) => p.uid === u.uid), 1000);

  const dir = mkdtempSync(join(tmpdir(), 'awf-e2e-'));
  chmodSync(dir, 0o711);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const paths = {
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    otherHostKey: join(dir, 'other_host_ed25519_key'),
    key: join(dir, 'id_ed25519'),
    wrongKey: join(dir, 'wrong_id_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    emptyKnownHosts: join(dir, 'known_hosts.empty'),
    mismatchedKnownHosts: join(dir, 'known_hosts.mismatched'),
    cert: join(dir, 'upstream.crt'),
    certKey: join(dir, 'upstream.key'),
    upstreamLog: join(dir, 'upstream.log'),
    upstreamControl: join(dir, 'upstream-control'),
  };
  const [hostPub, otherHostPub, clientPub] = await Promise.all([
    keygen(paths.hostKey, 'e2e-host'),
    keygen(paths.otherHostKey, 'e2e-other-host'),
    keygen(paths.key, 'e2e-client'),
    keygen(paths.wrongKey, 'e2e-wrong-client'),
    mustRun('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', paths.certKey, '-out', paths.cert, '-days', '2',
      '-subj', '/CN=ocapistaine.ngrok-free.app',
      '-addext', 'subjectAltName=DNS:ocapistaine.ngrok-free.app,IP:127.0.0.1',
    ]),
  ]);
  writeFileSync(paths.emptyKnownHosts, '');
  mkdirSync(join(paths.upstreamControl, 'faults'), { recursive: true });
  writeFileSync(join(paths.upstreamControl, 'upstream-mode'), options.upstreamMode ?? 'seed');

  // The engine, in its own network namespace; the socket is group-owned by the remote user's group.
  const engine: Engine = await startEngine({ name: u.name, group: u.name, dir });
  cleanups.push(() => engine.stop());

  const upstream: Upstream = await startUpstream({
    certPath: paths.cert,
    keyPath: paths.certKey,
    controlDir: paths.upstreamControl,
    logPath: paths.upstreamLog,
    netns: engine.netns,
  });
  cleanups.push(() => upstream.stop());
  // The container's port 80 (in the engine's namespace) on a loopback port of this machine.
  const relay: Relay = await startRelay({ netns: engine.netns, targetPort: 80, logPath: paths.upstreamLog });
  cleanups.push(() => relay.stop());
  const proxyPort = relay.port;

  const secret = `e2e-secret-${randomBytes(12).toString('hex')}`;
  const originalTemplate = options.template ?? readFileSync(BROKEN_TEMPLATE_PATH, 'utf8');
  const fixedTemplate = readFileSync(FIXED_TEMPLATE_PATH, 'utf8');
  const upstreamUrl = `https://127.0.0.1:${upstream.port}`;
  const home = u.home;
  // The system's PATH: the docker client is the one installed there.
  const userPath = '/usr/local/bin:/usr/bin:/bin';
  const dockerClient = findDockerClient(userPath);
  const userEnv = {
    HOME: home,
    USER: u.name,
    LOGNAME: u.name,
    SHELL: '/bin/bash',
    PATH: userPath,
    LANG: 'C.UTF-8',
  };
  const project = join(home, 'vaettir');
  const e2eDir = join(project, '.e2e');

  const runAsUser = (cmd: string, args: readonly string[], o: { cwd?: string; input?: string } = {}) =>
    run(cmd, args, { uid: u.uid, gid: u.gid, env: userEnv, cwd: o.cwd ?? home, timeoutMs: 120_000, ...(o.input !== undefined ? { input: o.input } : {}) });
  const docker = (args: readonly string[]) => runAsUser(dockerClient, args, { cwd: project });

  // The remote user's home, as the runbook finds it.
  const provision = async () => {
    for (const entry of readdirSync(home)) rmSync(join(home, entry), { recursive: true, force: true });
    chmodSync(home, 0o755);
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
    // The docker context that points the client (and Compose) at the test engine.
    const contextMeta = join(home, '.docker', 'contexts', 'meta', createHash('sha256').update(DOCKER_CONTEXT).digest('hex'));
    mkdirSync(contextMeta, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(contextMeta, 'meta.json'),
      JSON.stringify({ Name: DOCKER_CONTEXT, Metadata: { Description: 'apply-ws-fix e2e test engine' }, Endpoints: { docker: { Host: engine.dockerHost, SkipTLSVerify: false } } }),
    );
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: DOCKER_CONTEXT }, null, 2) + '\n');
    writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = vaettir e2e\n\temail = ${u.name}@localhost\n[init]\n\tdefaultBranch = main\n`);
    mkdirSync(join(project, 'proxy-configs'), { recursive: true });
    writeFileSync(join(project, 'compose.yaml'), composeYaml());
    writeFileSync(join(project, 'proxy-configs', 'Dockerfile.ocapistaine'), dockerfile());
    copyFileSync(join(FIXTURE_DIR, 'proxy-configs', 'entrypoint.sh'), join(project, 'proxy-configs', 'entrypoint.sh'));
    chmodSync(join(project, 'proxy-configs', 'entrypoint.sh'), 0o755);
    writeFileSync(join(project, 'proxy-configs', 'ocapistaine.conf.template'), originalTemplate);
    writeFileSync(join(project, '.env'), `OCAPISTAINE_TARGET_URL=${upstreamUrl}\nOCAPISTAINE_API_TOKEN=${secret}\n`, { mode: 0o600 });
    writeFileSync(join(project, '.gitignore'), '.env\n.e2e/\n');
    mkdirSync(join(e2eDir, 'faults'), { recursive: true });
    for (const f of readdirSync(PROJECT_EXTRAS)) copyFileSync(join(PROJECT_EXTRAS, f), join(e2eDir, f));
    chmodSync(join(e2eDir, 'gate'), 0o755);
    writeFileSync(join(e2eDir, 'baseline.template'), originalTemplate);
    chownTree(home, u);
    await mustRun('git', ['init', '-q'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
    await mustRun('git', ['add', '-A'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
    await mustRun('git', ['commit', '-q', '-m', 'vaettir: proxy configs'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
  };

  // Everything the user runs (a stray `docker logs -f`, a held build) goes.
  const sweepUser = () => terminateLeavesFirst((all) => all.filter((p) => p.uid === u.uid), 2000);
  cleanups.push(sweepUser);

  const bootContainer = async () => {
    const build = await docker(['compose', 'build', SERVICE]);
    if (build.code !== 0) throw new Error(`initial build failed: ${build.stderr}`);
    const up = await docker(['compose', ...PROFILE_ARGS, 'up', '-d', SERVICE]);
    if (up.code !== 0) throw new Error(`initial up failed: ${up.stderr}`);
    await waitFor(
      'nginx to answer /_stcore/health',
      async () => (await httpRequest(`http://127.0.0.1:${proxyPort}/_stcore/health`, { timeoutMs: 2000 })).status === 200,
      15_000,
    );
  };

  await provision();
  await bootContainer();

  const sshd: Sshd = await startSshd({
    dir,
    hostKeyPath: paths.hostKey,
    user: u.name,
    home,
    path: userPath,
    ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
  });
  cleanups.push(() => sshd.stop());
  writeFileSync(paths.knownHosts, `[127.0.0.1]:${sshd.port} ${hostPub}\n`);
  writeFileSync(paths.mismatchedKnownHosts, `[127.0.0.1]:${sshd.port} ${otherHostPub}\n`);
  chmodSync(paths.key, 0o600);

  const readContainer = (): ContainerState | undefined => {
    let out: string;
    try {
      out = engine.dockerSync(['inspect', '--type', 'container', CONTAINER]);
    } catch {
      return undefined; // no such container
    }
    const [c] = JSON.parse(out) as Array<{
      Id: string;
      Name: string;
      Image: string;
      RestartCount: number;
      State: { Status: ContainerState['status']; ExitCode: number; Pid: number; StartedAt: string; FinishedAt: string };
    }>;
    if (!c) return undefined;
    const ms = (t: string) => (t.startsWith('0001-') ? 0 : Date.parse(t));
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      restartCount: c.RestartCount,
      startedAtMs: ms(c.State.StartedAt),
      finishedAtMs: ms(c.State.FinishedAt),
      nginxPid: c.State.Pid,
      imageId: c.Image,
    };
  };

  const sshArgs = (o: { privateKeyPath?: string; knownHostsPath?: string } = {}) => [
    '-F', '/dev/null',
    '-p', String(sshd.port),
    '-i', o.privateKeyPath ?? paths.key,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${o.knownHostsPath ?? paths.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    `${u.name}@127.0.0.1`,
  ];

  const faultPath = (name: FaultName) => join(BUILD_FAULTS.includes(name) ? join(e2eDir, 'faults') : join(paths.upstreamControl, 'faults'), name);

  let closed = false;
  const onExit = () => {
    // Last resort when the test process ends without close(): no container, daemon or sshd left
    // running (the namespace and the engine's directories go at the next start).
    for (const pid of engine.pids()) signal(pid, 'SIGKILL');
    for (const p of processesOfUid(u.uid)) signal(p.pid, 'SIGKILL');
    signal(sshd.pid, 'SIGKILL');
  };
  process.on('exit', onExit);

  const host: RealHost = {
    host: '127.0.0.1',
    port: sshd.port,
    user: u.name,
    uid: u.uid,
    home,
    projectDir: project,
    templatePath: join(home, TEMPLATE_REL),
    privateKeyPath: paths.key,
    publicKey: clientPub,
    wrongPrivateKeyPath: paths.wrongKey,
    knownHostsPath: paths.knownHosts,
    emptyKnownHostsPath: paths.emptyKnownHosts,
    mismatchedKnownHostsPath: paths.mismatchedKnownHosts,
    publicUrl: `http://127.0.0.1:${proxyPort}`,
    proxyPort,
    upstreamUrl,
    secret,
    originalTemplate,
    fixedTemplate,
    logs: { sshd: sshd.logPath, dockerd: engine.logPath, upstream: paths.upstreamLog },
    versions: engine.version,
    dockerClient,
    netns: engine.netns,
    sshArgs,
    ssh: (command, o = {}) =>
      run('ssh', [...sshArgs(o), command], { timeoutMs: o.timeoutMs ?? 60_000, ...(o.input !== undefined ? { input: o.input } : {}) }),
    runAsUser,
    docker,
    readFile: (rel) => readFileSync(join(home, rel), 'utf8'),
    writeFile: (rel, content) => {
      const path = join(home, rel);
      const created = mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      if (created) chownTree(created, u);
      chownSync(path, u.uid, u.gid);
    },
    async setFault(name, o = {}) {
      const path = faultPath(name);
      writeFileSync(path, JSON.stringify({ scope: o.scope ?? 'changed' }) + '\n', { mode: 0o644 });
      chownSync(path, u.uid, u.gid);
      await upstream.sync();
    },
    holdNextBuild(seconds) {
      // A duration no other process has, to find the build step's `sleep` in the process table.
      const token = `${Math.floor(seconds)}.${String(Math.floor(Math.random() * 9000) + 1000)}`;
      const file = join(e2eDir, 'faults', 'hold-build');
      writeFileSync(file, `${token}\n`);
      chownSync(file, u.uid, u.gid);
      return {
        started: () => {
          const holding = listProcesses().some((p) => p.cmdline === `sleep ${token}` && p.state !== 'Z');
          if (holding) rmSync(file, { force: true });
          return holding;
        },
      };
    },
    async clearFault(name) {
      rmSync(faultPath(name), { force: true });
      await upstream.sync();
    },
    async clearFaults() {
      for (const d of [join(e2eDir, 'faults'), join(paths.upstreamControl, 'faults')]) {
        for (const f of readdirSync(d)) rmSync(join(d, f), { force: true });
      }
      await upstream.sync();
    },
    setUpstreamMode: (mode) => writeFileSync(join(paths.upstreamControl, 'upstream-mode'), mode),
    upstreamRequests: () => upstream.requests(),
    clearUpstreamRequests: () => upstream.clearRequests(),
    container: readContainer,
    waitForContainer: (pred, timeoutMs = 15_000) =>
      waitFor('the container state', () => {
        const s = readContainer();
        return s && pred(s) ? s : undefined;
      }, timeoutMs),
    async whileRestarting(fn) {
      for (let attempt = 0; ; attempt++) {
        // From the 3rd restart on, the back-off (≥ 400 ms, doubling) dwarfs an attempt's few milliseconds.
        const before = await host.waitForContainer((s) => s.status === 'restarting' && s.restartCount >= 3, 30_000);
        const result = await fn();
        const after = readContainer();
        if (after?.status === 'restarting' && after.restartCount === before.restartCount) return result;
        if (attempt >= 5) throw new Error(`the crash loop never held still through the check (restart ${before.restartCount} → ${after?.restartCount})`);
      }
    },
    containerLogs: () => engine.dockerSyncAll(['logs', CONTAINER]),
    dockerEvents: (sinceMs) => {
      const until = Date.now() / 1000 + 0.001;
      const out = engine.dockerSync(['events', '--since', (sinceMs / 1000).toFixed(3), '--until', until.toFixed(3), '--format', '{{json .}}']);
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { Type: string; Action: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } })
        .map((e) => ({ time: e.timeNano / 1e6, type: e.Type, action: e.Action, name: e.Actor?.Attributes?.['name'] ?? '' }));
    },
    dropSshConnections: () => sshd.dropConnections(),
    setLoginShell: (shell) => setLoginShell(u.name, shell),
    async reset() {
      await sweepUser();
      await engine.clear();
      await provision();
      rmSync(join(paths.upstreamControl, 'faults'), { recursive: true, force: true });
      mkdirSync(join(paths.upstreamControl, 'faults'));
      writeFileSync(join(paths.upstreamControl, 'upstream-mode'), options.upstreamMode ?? 'seed');
      await upstream.sync();
      await upstream.clearRequests();
      await bootContainer();
    },
    pids: () => ({ sshd: sshd.pid, dockerd: engine.pid, upstream: upstream.pid, nginx: readContainer()?.nginxPid ?? 0 }),
    async close() {
      if (closed) return;
      closed = true;
      process.off('exit', onExit);
      const errors: unknown[] = [];
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length) throw new AggregateError(errors, 'closing the real test host');
    },
  };
  return host;
}

// Waits until no process of the user lives (for tests of close()).
export async function userProcessesGone(uid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processesOfUid(uid).length === 0) return true;
    await sleep(50);
  }
  return processesOfUid(uid).length === 0;
}
