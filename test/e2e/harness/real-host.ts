// The real e2e test host: OpenSSH sshd + a remote user whose ~/vaettir and `docker` (a Compose v2
// emulator) drive a real nginx, in front of a Streamlit-like HTTPS upstream. See test/e2e/README.md.
import { randomBytes } from 'node:crypto';
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
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { httpRequest } from './probes.js';
import { startSshd, type Sshd } from './sshd.js';
import {
  ensureUser,
  isAlive,
  mustRun,
  processesOfUid,
  run,
  setLoginShell,
  signal,
  sleep,
  terminate,
  terminateLeavesFirst,
  waitFor,
  freePort,
  type ExecResult,
  type UserInfo,
} from './system.js';
import { startUpstream, type Upstream, type UpstreamRequest } from './upstream.js';

export type { ExecResult } from './system.js';
export type { UpstreamRequest } from './upstream.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');
export const FIXTURE_DIR = join(REPO, 'fixtures', 'fake-host', 'vaettir');
// The broken template the host starts with, and the seed's fixed config.
export const BROKEN_TEMPLATE_PATH = join(FIXTURE_DIR, 'proxy-configs', 'ocapistaine.conf.template');
export const FIXED_TEMPLATE_PATH = join(REPO, 'runbooks', 'ocapistaine-ws-fix', 'ocapistaine.conf.template');

export const PROJECT = 'vaettir';
export const SERVICE = 'ocapistaine';
export const CONTAINER = 'vaettir-ocapistaine-1';
export const TEMPLATE_REL = 'vaettir/proxy-configs/ocapistaine.conf.template';
export const COMPOSE_VERSION = '2.29.7';
export const PROFILE_ARGS = ['--profile', 'production', '--profile', 'proxy'] as const;

// Switches the test host understands. Compose-side faults bite only a template that differs from
// the host's original (scope 'changed', the default) unless set with scope 'always'.
export const FAULTS = [
  'build-fails', // `docker compose build` fails (exit 17, "failed to solve: …")
  'up-fails', // `up` fails at start ("port is already allocated"); the container stays Created
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

export interface DockerCall {
  time: number;
  argv: string[];
  cwd: string;
  exitCode: number;
  ms: number;
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

  // `ssh` client argv (without the command) for this host; override key/known_hosts per case.
  sshArgs(o?: { privateKeyPath?: string; knownHostsPath?: string }): string[];
  // Runs a command through the real ssh client.
  ssh(command: string, o?: { privateKeyPath?: string; knownHostsPath?: string; input?: string; timeoutMs?: number }): Promise<ExecResult>;
  // Runs a program as the remote user on the host, without SSH (fast, for assertions).
  runAsUser(cmd: string, args: readonly string[], o?: { cwd?: string; input?: string }): Promise<ExecResult>;
  // `docker …` as the remote user in ~/vaettir, without SSH.
  docker(args: readonly string[]): Promise<ExecResult>;
  readFile(relToHome: string): string;
  writeFile(relToHome: string, content: string | Buffer): void;
  setFault(name: FaultName, o?: { scope?: FaultScope }): Promise<void>;
  clearFault(name: FaultName): Promise<void>;
  clearFaults(): Promise<void>;
  setUpstreamMode(mode: UpstreamMode): void;
  upstreamRequests(): Promise<UpstreamRequest[]>;
  clearUpstreamRequests(): Promise<void>;
  container(): ContainerState | undefined;
  waitForContainer(pred: (s: ContainerState) => boolean, timeoutMs?: number): Promise<ContainerState>;
  containerLogs(): string;
  dockerCalls(): DockerCall[];
  dropSshConnections(): Promise<number>;
  // The remote user's login shell from the next SSH connection on (usermod -s); reset() keeps it.
  setLoginShell(shell: string): Promise<void>;
  // Back to the broken host as started: files, git, images, container, faults, upstream mode.
  reset(): Promise<void>;
  pids(): { sshd: number; dockerd: number; upstream: number; nginx: number };
  close(): Promise<void>;
}

const REQUIRED = [
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
  if (process.getuid?.() !== 0) missing.push('root (the harness creates a user and runs sshd)');
  for (const [path, pkg] of REQUIRED) if (!existsSync(path)) missing.push(`${path} (apt package ${pkg})`);
  if (!existsSync(FIXED_TEMPLATE_PATH)) missing.push(FIXED_TEMPLATE_PATH);
  if (!existsSync(BROKEN_TEMPLATE_PATH)) missing.push(BROKEN_TEMPLATE_PATH);
  return missing;
}

function defaultUser(): string {
  return `awf-e2e-w${process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? '0'}`;
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

// compose.yaml of the fixture, with the port mapping the real host has in front (80 → loopback).
function composeYaml(proxyPort: number): string {
  const fixture = readFileSync(join(FIXTURE_DIR, 'compose.yaml'), 'utf8');
  const marker = '    restart: unless-stopped';
  if (!fixture.includes(marker)) throw new Error(`${FIXTURE_DIR}/compose.yaml: no "${marker.trim()}" line to put ports before`);
  return fixture.replace(marker, `    ports:\n      - "127.0.0.1:${proxyPort}:80"\n${marker}`);
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
    dockerdLog: join(dir, 'dockerd.log'),
    upstreamLog: join(dir, 'upstream.log'),
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

  const home = u.home;
  const fakeDocker = join(home, '.fake-docker');
  const upstream: Upstream = await startUpstream({
    certPath: paths.cert,
    keyPath: paths.certKey,
    controlDir: fakeDocker,
    logPath: paths.upstreamLog,
  });
  cleanups.push(() => upstream.stop());

  const proxyPort = await freePort();
  const secret = `e2e-secret-${randomBytes(12).toString('hex')}`;
  const originalTemplate = options.template ?? readFileSync(BROKEN_TEMPLATE_PATH, 'utf8');
  const fixedTemplate = readFileSync(FIXED_TEMPLATE_PATH, 'utf8');
  const upstreamUrl = `https://127.0.0.1:${upstream.port}`;
  const userPath = `${home}/bin:/usr/local/bin:/usr/bin:/bin`;
  const userEnv = {
    HOME: home,
    USER: u.name,
    LOGNAME: u.name,
    SHELL: '/bin/bash',
    PATH: userPath,
    LANG: 'C.UTF-8',
  };

  const runAsUser = (cmd: string, args: readonly string[], o: { cwd?: string; input?: string } = {}) =>
    run(cmd, args, { uid: u.uid, gid: u.gid, env: userEnv, cwd: o.cwd ?? home, ...(o.input !== undefined ? { input: o.input } : {}) });
  const docker = (args: readonly string[]) =>
    runAsUser(process.execPath, [join(fakeDocker, 'lib', 'docker.mjs'), ...args], { cwd: join(home, 'vaettir') });

  // The remote user's home, as the runbook finds it.
  const provision = async () => {
    for (const entry of readdirSync(home)) rmSync(join(home, entry), { recursive: true, force: true });
    chmodSync(home, 0o755);
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
    mkdirSync(join(home, 'bin'));
    writeFileSync(join(home, 'bin', 'docker'), `#!/bin/sh\nexec ${process.execPath} ${fakeDocker}/lib/docker.mjs "$@"\n`, { mode: 0o755 });
    const pathLine = 'case ":$PATH:" in *":$HOME/bin:"*) ;; *) PATH="$HOME/bin:$PATH" ;; esac\n';
    writeFileSync(join(home, '.profile'), `# e2e test host: ~/bin holds docker\n${pathLine}`);
    writeFileSync(join(home, '.bashrc'), `# e2e test host\n${pathLine}`);
    writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = vaettir e2e\n\temail = ${u.name}@localhost\n[init]\n\tdefaultBranch = main\n`);
    for (const d of ['lib', 'faults', 'images', 'containers']) mkdirSync(join(fakeDocker, d), { recursive: true });
    for (const f of ['common.mjs', 'docker.mjs', 'dockerd.mjs']) copyFileSync(join(HERE, 'remote', f), join(fakeDocker, 'lib', f));
    writeFileSync(
      join(fakeDocker, 'host.json'),
      JSON.stringify({ nginx: '/usr/sbin/nginx', envsubst: '/usr/bin/envsubst', composeVersion: COMPOSE_VERSION, dockerVersion: '27.3.1' }, null, 2),
    );
    writeFileSync(join(fakeDocker, 'baseline.template'), originalTemplate);
    writeFileSync(join(fakeDocker, 'upstream-mode'), options.upstreamMode ?? 'seed');
    const project = join(home, 'vaettir');
    mkdirSync(join(project, 'proxy-configs'), { recursive: true });
    writeFileSync(join(project, 'compose.yaml'), composeYaml(proxyPort));
    for (const f of ['Dockerfile.ocapistaine', 'entrypoint.sh']) {
      copyFileSync(join(FIXTURE_DIR, 'proxy-configs', f), join(project, 'proxy-configs', f));
    }
    chmodSync(join(project, 'proxy-configs', 'entrypoint.sh'), 0o755);
    writeFileSync(join(project, 'proxy-configs', 'ocapistaine.conf.template'), originalTemplate);
    writeFileSync(join(project, '.env'), `OCAPISTAINE_TARGET_URL=${upstreamUrl}\nOCAPISTAINE_API_TOKEN=${secret}\n`, { mode: 0o600 });
    writeFileSync(join(project, '.gitignore'), '.env\n');
    chownTree(home, u);
    await mustRun('git', ['init', '-q'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
    await mustRun('git', ['add', '-A'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
    await mustRun('git', ['commit', '-q', '-m', 'vaettir: proxy configs'], { uid: u.uid, gid: u.gid, env: userEnv, cwd: project });
  };

  let dockerd: ChildProcess | undefined;
  const startDockerd = async () => {
    const logFd = openSync(paths.dockerdLog, 'a');
    dockerd = spawn(process.execPath, [join(fakeDocker, 'lib', 'dockerd.mjs')], {
      uid: u.uid,
      gid: u.gid,
      env: userEnv,
      cwd: home,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    dockerd.unref();
    const child = dockerd;
    await waitFor('the container daemon', () => {
      if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}: ${readFileSync(paths.dockerdLog, 'utf8')}`);
      return pingDaemon(join(fakeDocker, 'docker.sock'));
    });
  };
  const stopDockerd = async () => {
    const pid = dockerd?.pid;
    if (pid && isAlive(pid)) await terminate([pid], 8000);
    dockerd = undefined;
  };
  // Everything the user runs (nginx, a stray `docker logs -f`) goes with the daemon.
  const sweepUser = async () => {
    await stopDockerd();
    await terminateLeavesFirst((all) => all.filter((p) => p.uid === u.uid), 2000);
  };
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
    writeFileSync(join(fakeDocker, 'calls.ndjson'), '');
  };

  await provision();
  await startDockerd();
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

  const containerDir = join(fakeDocker, 'containers', CONTAINER);
  const readContainer = (): ContainerState | undefined => {
    try {
      const config = JSON.parse(readFileSync(join(containerDir, 'config.json'), 'utf8'));
      const state = JSON.parse(readFileSync(join(containerDir, 'state.json'), 'utf8'));
      return {
        id: config.Id,
        name: config.Name,
        status: state.Status,
        exitCode: state.ExitCode ?? 0,
        restartCount: state.RestartCount ?? 0,
        startedAtMs: state.StartedAtMs ?? 0,
        finishedAtMs: state.FinishedAtMs ?? 0,
        nginxPid: state.Pid ?? 0,
        imageId: config.ImageId,
      };
    } catch {
      return undefined;
    }
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

  let closed = false;
  const onExit = () => {
    // Last resort when the test process ends without close(): no nginx or sshd left behind.
    for (const p of processesOfUid(u.uid)) signal(p.pid, 'SIGKILL');
    signal(sshd.pid, 'SIGKILL');
    signal(upstream.pid, 'SIGKILL');
  };
  process.on('exit', onExit);

  const host: RealHost = {
    host: '127.0.0.1',
    port: sshd.port,
    user: u.name,
    uid: u.uid,
    home,
    projectDir: join(home, 'vaettir'),
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
    logs: { sshd: sshd.logPath, dockerd: paths.dockerdLog, upstream: paths.upstreamLog },
    sshArgs,
    ssh: (command, o = {}) =>
      run('ssh', [...sshArgs(o), command], { timeoutMs: o.timeoutMs ?? 30_000, ...(o.input !== undefined ? { input: o.input } : {}) }),
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
      writeFileSync(join(fakeDocker, 'faults', name), JSON.stringify({ scope: o.scope ?? 'changed' }) + '\n', { mode: 0o644 });
      await upstream.sync();
    },
    async clearFault(name) {
      rmSync(join(fakeDocker, 'faults', name), { force: true });
      await upstream.sync();
    },
    async clearFaults() {
      for (const f of readdirSync(join(fakeDocker, 'faults'))) rmSync(join(fakeDocker, 'faults', f), { force: true });
      await upstream.sync();
    },
    setUpstreamMode: (mode) => writeFileSync(join(fakeDocker, 'upstream-mode'), mode),
    upstreamRequests: () => upstream.requests(),
    clearUpstreamRequests: () => upstream.clearRequests(),
    container: readContainer,
    waitForContainer: (pred, timeoutMs = 10_000) =>
      waitFor('the container state', () => {
        const s = readContainer();
        return s && pred(s) ? s : undefined;
      }, timeoutMs),
    containerLogs: () => {
      try {
        return readFileSync(join(containerDir, 'log.ndjson'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { log: string }).log)
          .join('\n');
      } catch {
        return '';
      }
    },
    dockerCalls: () => {
      try {
        return readFileSync(join(fakeDocker, 'calls.ndjson'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as DockerCall);
      } catch {
        return [];
      }
    },
    dropSshConnections: () => sshd.dropConnections(),
    setLoginShell: (shell) => setLoginShell(u.name, shell),
    async reset() {
      await sweepUser();
      await provision();
      await upstream.sync();
      await upstream.clearRequests();
      await startDockerd();
      await bootContainer();
    },
    pids: () => ({ sshd: sshd.pid, dockerd: dockerd?.pid ?? 0, upstream: upstream.pid, nginx: readContainer()?.nginxPid ?? 0 }),
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

function pingDaemon(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(sock);
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write('{"op":"ping"}\n'));
    s.on('data', (d) => (buf += d));
    s.on('end', () => resolve(buf.includes('"ok":true')));
    s.on('error', () => resolve(false));
    setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 1000);
  });
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
