// A real Docker Engine for one test host: Debian's dockerd (installed by test/e2e/install-deps.sh) with
// its own socket, data and exec roots, in a network namespace of its own that has only a loopback
// interface. No bridge, no iptables: the containers use `network_mode: host`, which here means that
// namespace, so nginx binds its port 80 there and never on the machine's own addresses, and several
// hosts (other test files, other users of the machine) never collide on it.
//
// The base image the project's Dockerfile names (nginx:1.27-alpine) is made offline with `docker import`
// from this machine's nginx, envsubst, printenv and busybox with their shared libraries.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isAlive, mustRun, run, signal, sleep, terminate, waitFor, type ExecResult } from './system.js';

export const DOCKERD = '/usr/sbin/dockerd';
export const BASE_IMAGE = 'nginx:1.27-alpine';
// Where install-deps.sh puts Compose v2; every docker client searches this cli-plugins directory.
export const COMPOSE_PLUGIN = '/usr/local/lib/docker/cli-plugins/docker-compose';
// What the base image is made of: this machine's binaries (their shared libraries follow).
const IMAGE_BINARIES = ['/usr/sbin/nginx', '/usr/bin/envsubst', '/usr/bin/printenv', '/bin/busybox'] as const;
// busybox applets the image offers as commands (no printenv: coreutils' printenv is copied instead,
// and no envsubst), as an Alpine image has them.
const APPLETS = ['sh', 'cat', 'env', 'ls', 'sed', 'grep', 'mkdir', 'rm', 'cp', 'mv', 'echo', 'test', '[', 'sleep', 'true', 'false', 'cmp', 'head', 'tail', 'id', 'ps', 'kill', 'chmod', 'wc', 'tr', 'printf', 'date', 'touch', 'ln', 'pwd', 'uname', 'wget', 'nc'];

export const ENGINE_REQUIRED = [
  [DOCKERD, 'docker.io'],
  ['/usr/bin/docker', 'docker.io'],
  [COMPOSE_PLUGIN, 'Compose v2 (test/e2e/install-deps.sh fetches it)'],
  ['/bin/busybox', 'busybox-static'],
  ['/usr/bin/printenv', 'coreutils'],
  ['/usr/bin/nsenter', 'util-linux'],
  ['/usr/sbin/ip', 'iproute2'],
] as const;

export interface Engine {
  readonly name: string; // also the network namespace's name
  readonly netns: string; // /run/netns/<name>
  readonly socket: string;
  readonly dockerHost: string; // unix://<socket>
  readonly pid: number; // dockerd
  readonly logPath: string;
  readonly version: { engine: string; compose: string; client: string };
  // `docker …` as root against this engine.
  docker(args: readonly string[], o?: { input?: string; cwd?: string; timeoutMs?: number }): Promise<ExecResult>;
  dockerSync(args: readonly string[]): string;
  // The same, with stdout and stderr together and never throwing (docker logs writes on both).
  dockerSyncAll(args: readonly string[]): string;
  // Every container gone (killed), dangling images pruned: a clean engine, base image kept.
  clear(): Promise<void>;
  // Processes living in the namespace (dockerd, containerd, shims, container processes, in-namespace helpers).
  pids(): number[];
  stop(): Promise<void>;
}

function netnsPids(name: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

function paths(name: string) {
  // Short exec root: containerd's sockets live under it (108-byte limit on a unix socket path).
  const execRoot = `/run/awf-e2e-engine/${name}`;
  const dataRoot = `/var/tmp/awf-e2e-engine/${name}`;
  return { execRoot, dataRoot, socket: join(execRoot, 'docker.sock'), pidFile: join(execRoot, 'docker.pid'), config: join(execRoot, 'daemon.json') };
}

// Kills whatever a crashed run left in the namespace (dockerd, containerd, shims, nginx, helpers),
// deletes the namespace and the engine's directories.
export async function removeEngineLeftovers(name: string): Promise<void> {
  const p = paths(name);
  if (existsSync(`/run/netns/${name}`)) {
    // Orphans of a dead run (or stragglers after dockerd stopped): nothing there needs a clean shutdown.
    for (let round = 0; round < 3; round++) {
      const pids = netnsPids(name);
      if (!pids.length) break;
      await terminate(pids, 300);
    }
    await run('ip', ['netns', 'delete', name]);
  }
  // A dockerd outside the namespace (started by hand?) that still owns these directories.
  if (existsSync(p.pidFile)) {
    const pid = Number(readFileSync(p.pidFile, 'utf8'));
    if (pid > 0 && isAlive(pid)) await terminate([pid], 3000);
  }
  // dockerd bind-mounts its own network namespace under the exec root (netns/default).
  for (const mount of mountsUnder([p.execRoot, p.dataRoot]).reverse()) await run('umount', ['-l', mount]);
  rmSync(p.execRoot, { recursive: true, force: true });
  rmSync(p.dataRoot, { recursive: true, force: true });
}

function mountsUnder(roots: readonly string[]): string[] {
  let table = '';
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((mount) => roots.some((root) => mount === root || mount.startsWith(`${root}/`)));
}

// The base image's root filesystem, as a directory: binaries, their libraries, busybox applets, a main
// config that includes the rendered /etc/nginx/nginx.conf inside http {}, and an `nginx` on PATH that
// points at that main config (so `nginx -t` tests what the container serves).
function baseRootfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'awf-e2e-rootfs-'));
  const put = (path: string, content: string, mode = 0o644) => {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), content, { mode });
  };
  const libs = new Set<string>();
  for (const bin of IMAGE_BINARIES) {
    mkdirSync(join(root, dirname(bin)), { recursive: true });
    copyFileSync(bin, join(root, bin));
    chmodSync(join(root, bin), 0o755);
    let ldd = '';
    try {
      ldd = execFileSync('ldd', [bin], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // a static binary (busybox-static): "not a dynamic executable"
    }
    for (const m of ldd.matchAll(/(\/[^\s)]+)/g)) if (m[1]) libs.add(m[1]);
  }
  for (const lib of libs) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib)); // follows the symlink: the library itself
  }
  for (const applet of APPLETS) symlinkSync('/bin/busybox', join(root, 'bin', applet));
  put('usr/local/bin/nginx', '#!/bin/sh\n# The image\'s main config is /etc/nginx/main.conf; /etc/nginx/nginx.conf is the rendered template it includes.\nexec /usr/sbin/nginx -c /etc/nginx/main.conf "$@"\n', 0o755);
  put('etc/nginx/main.conf', MAIN_CONF);
  put('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
  put('etc/group', 'root:x:0:\nnginx:x:101:nginx\nnogroup:x:65534:\n');
  // Docker bind-mounts these over the image's at run time; the files must exist.
  put('etc/hosts', '127.0.0.1 localhost\n');
  put('etc/resolv.conf', '');
  for (const d of ['var/lib/nginx/body', 'var/lib/nginx/proxy', 'var/cache/nginx', 'var/log/nginx', 'var/lock', 'run', 'tmp', 'root', 'etc/nginx/templates']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  chownSync(join(root, 'var/lib/nginx/body'), 101, 101);
  chownSync(join(root, 'var/lib/nginx/proxy'), 101, 101);
  // As in the official image: the logs go to the container's stdout/stderr.
  symlinkSync('/dev/stderr', join(root, 'var/log/nginx/error.log'));
  symlinkSync('/dev/stdout', join(root, 'var/log/nginx/access.log'));
  return root;
}

// The base image's main config: the template, rendered to /etc/nginx/nginx.conf, sits inside http {}.
export const MAIN_CONF = `user nginx;
worker_processes 1;
error_log /var/log/nginx/error.log notice;
pid /run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log /var/log/nginx/access.log;
    include /etc/nginx/nginx.conf;
}
`;

export async function startEngine(o: { name: string; group: string; dir: string }): Promise<Engine> {
  const name = o.name;
  const p = paths(name);
  await removeEngineLeftovers(name);
  const netns = `/run/netns/${name}`;
  await mustRun('ip', ['netns', 'add', name]);
  await mustRun('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  // The remote user reaches the socket through these directories (the socket itself is 660, its group).
  mkdirSync(dirname(p.execRoot), { recursive: true, mode: 0o711 });
  chmodSync(dirname(p.execRoot), 0o711);
  mkdirSync(p.execRoot, { recursive: true, mode: 0o711 });
  mkdirSync(p.dataRoot, { recursive: true, mode: 0o711 });
  // An empty daemon.json: the machine's /etc/docker/daemon.json (if any) is not ours to read.
  writeFileSync(p.config, '{}\n');
  const logPath = join(o.dir, 'dockerd.log');
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
  const dockerHost = `unix://${p.socket}`;
  const dockerEnv = { ...env, DOCKER_HOST: dockerHost, DOCKER_CONFIG: join(o.dir, 'docker-config') };

  const logFd = openSync(logPath, 'a');
  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=${netns}`,
      '--',
      DOCKERD,
      '--config-file', p.config,
      '--storage-driver', 'vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
      '--userland-proxy=false',
      '--data-root', p.dataRoot,
      '--exec-root', p.execRoot,
      '--pidfile', p.pidFile,
      '-H', dockerHost,
      '--group', o.group,
      '--shutdown-timeout', '2',
      '--log-level', 'warn',
    ],
    { env, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  child.unref();
  const pid = child.pid as number;
  const docker = (args: readonly string[], x: { input?: string; cwd?: string; timeoutMs?: number } = {}) =>
    run('docker', args, { env: dockerEnv, timeoutMs: x.timeoutMs ?? 60_000, ...(x.cwd ? { cwd: x.cwd } : {}), ...(x.input !== undefined ? { input: x.input } : {}) });
  const dockerSync = (args: readonly string[]) => execFileSync('docker', args, { env: dockerEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const dockerSyncAll = (args: readonly string[]) => {
    const r = spawnSync('docker', args, { env: dockerEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };

  const stop = async () => {
    // dockerd stops its containers (shutdown-timeout 2 s), then containerd; whatever is left in the
    // namespace is killed, then the namespace and the directories go.
    if (isAlive(pid)) {
      signal(pid, 'SIGTERM');
      const deadline = Date.now() + 8000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    }
    await removeEngineLeftovers(name);
  };

  try {
    await waitFor(
      'dockerd to answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
        return existsSync(p.socket) && (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0;
      },
      20_000,
      50,
    );
    const root = baseRootfs();
    try {
      const imported = await run('sh', ['-c', 'tar -C "$1" -c . | docker import -c "$2" -c "$3" - "$4"', 'sh', root, 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["nginx", "-g", "daemon off;"]', BASE_IMAGE], { env: dockerEnv });
      if (imported.code !== 0) throw new Error(`docker import of ${BASE_IMAGE} failed: ${imported.stderr}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const [server, compose, client] = await Promise.all([
      docker(['version', '--format', '{{.Server.Version}}']),
      docker(['compose', 'version', '--short']),
      docker(['version', '--format', '{{.Client.Version}}']),
    ]);
    return {
      name,
      netns,
      socket: p.socket,
      dockerHost,
      pid,
      logPath,
      version: { engine: server.stdout.trim(), compose: compose.stdout.trim(), client: client.stdout.trim() },
      docker,
      dockerSync,
      dockerSyncAll,
      async clear() {
        const ids = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
        if (ids.length) {
          const rm = await docker(['rm', '-f', ...ids]);
          if (rm.code !== 0) throw new Error(`docker rm -f failed: ${rm.stderr}`);
        }
        await docker(['image', 'prune', '-f']);
      },
      pids: () => netnsPids(name),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
