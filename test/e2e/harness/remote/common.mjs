// Shared by docker.mjs (the `docker` CLI) and dockerd.mjs (the daemon that owns container processes).
// Both run on the test host as its remote user; state lives under ~/.fake-docker so it survives
// across SSH sessions. Only node: builtins here: these files are copied into the user's home.
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  constants,
  openSync,
  unlinkSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const HOME = process.env.HOME || homedir();
export const ROOT = join(HOME, '.fake-docker');
export const PATHS = {
  root: ROOT,
  hostJson: join(ROOT, 'host.json'),
  sock: join(ROOT, 'docker.sock'),
  faults: join(ROOT, 'faults'),
  baseline: join(ROOT, 'baseline.template'),
  calls: join(ROOT, 'calls.ndjson'),
  images: join(ROOT, 'images'),
  tags: join(ROOT, 'images', 'tags.json'),
  containers: join(ROOT, 'containers'),
};

// Where the template lives inside the image, and what the entrypoint renders it into.
export const IMAGE_TEMPLATE = '/etc/nginx/templates/ocapistaine.conf.template';
export const RENDERED = '/etc/nginx/nginx.conf';
export const MAIN = '/etc/nginx/main.conf';
export const ENVSUBST_VARS = '${OCAPISTAINE_TARGET_URL}';
export const IMAGE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  NGINX_VERSION: '1.27.5',
  PKG_RELEASE: '1',
};

export function hostConfig() {
  return readJson(PATHS.hostJson, {
    nginx: '/usr/sbin/nginx',
    envsubst: '/usr/bin/envsubst',
    composeVersion: '2.29.7',
    dockerVersion: '27.3.1',
  });
}

export function readJson(path, fallback) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    if (fallback !== undefined) return fallback;
    throw new Error(`cannot read ${path}`);
  }
}

// Write-then-rename, so a concurrent reader never sees half a state file.
export function writeJson(path, value) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

export function randomId() {
  return randomBytes(32).toString('hex');
}

// Docker prints times as RFC 3339 with nanoseconds.
export function dockerTime(ms) {
  if (!ms) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

// github.com/docker/go-units HumanDuration.
export function humanDuration(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  return `${Math.floor(hours / 24 / 7)} weeks`;
}

// docker's container State.String().
export function statusString(state, now = Date.now()) {
  switch (state.Status) {
    case 'running':
      return `Up ${humanDuration(now - state.StartedAtMs)}`;
    case 'restarting':
      return `Restarting (${state.ExitCode}) ${humanDuration(now - state.FinishedAtMs)} ago`;
    case 'exited':
      return `Exited (${state.ExitCode}) ${humanDuration(now - state.FinishedAtMs)} ago`;
    case 'created':
      return 'Created';
    default:
      return state.Status;
  }
}

// ---------- faults ----------
// A fault is on while ~/.fake-docker/faults/<name> exists. Its JSON says when it bites:
// scope 'changed' (default) only for a template that differs from the baseline (the host's
// original template), so rolling back to the original works; 'always' for every template.
export function faultOn(name, template) {
  const file = join(PATHS.faults, name);
  if (!existsSync(file)) return false;
  const spec = readJson(file, {});
  if (spec.scope === 'always') return true;
  let baseline = '';
  try {
    baseline = readFileSync(PATHS.baseline, 'utf8');
  } catch {}
  return template !== baseline;
}

// ---------- images ----------
export function imageDir(id) {
  return join(PATHS.images, id.replace(/^sha256:/, ''));
}

export function readTags() {
  return readJson(PATHS.tags, {});
}

export function loadImage(id) {
  return readJson(join(imageDir(id), 'image.json'));
}

export function imageFile(image, path) {
  return join(imageDir(image.Id), 'files', path);
}

export function imageTemplate(image) {
  try {
    return readFileSync(imageFile(image, IMAGE_TEMPLATE), 'utf8');
  } catch {
    return null;
  }
}

// ---------- containers ----------
export function containerDir(name) {
  return join(PATHS.containers, name);
}

export function listContainers() {
  if (!existsSync(PATHS.containers)) return [];
  return readdirSync(PATHS.containers)
    .filter((name) => existsSync(join(containerDir(name), 'config.json')))
    .map((name) => loadContainer(name))
    .filter(Boolean)
    .sort((a, b) => a.config.Name.localeCompare(b.config.Name));
}

export function loadContainer(name) {
  const dir = containerDir(name);
  const config = readJson(join(dir, 'config.json'), null);
  if (!config) return null;
  const state = readJson(join(dir, 'state.json'), { Status: 'created', ExitCode: 0 });
  return { name, dir, config, state };
}

export function writeState(name, state) {
  writeJson(join(containerDir(name), 'state.json'), state);
}

export function appendLog(name, stream, line, time = Date.now()) {
  appendFileSync(join(containerDir(name), 'log.ndjson'), JSON.stringify({ time, stream, log: line }) + '\n');
}

export function readLog(name) {
  try {
    return readFileSync(join(containerDir(name), 'log.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

// ---------- the image's entrypoint, emulated ----------
// The container's main config, as the image ships it: the rendered template is included inside
// http {}. `layout: 'toplevel'` is the reject-new-config fault: the include sits outside http {},
// so real nginx rejects `map`/`server` there.
function mainConfig(p, layout) {
  const include = `include ${p(RENDERED)};`;
  return `# Main config of the ocapistaine image: nginx runs with -c ${MAIN}.
# The entrypoint renders the template into ${RENDERED}, included below.
worker_processes  1;

error_log  ${p('/var/log/nginx/error.log')} notice;
pid        ${p('/var/run/nginx.pid')};
${layout === 'toplevel' ? `\n${include}\n` : ''}
events {
    worker_connections  1024;
}

http {
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    access_log  ${p('/var/log/nginx/access.log')}  main;

    client_body_temp_path ${p('/var/cache/nginx/client_temp')};
    proxy_temp_path       ${p('/var/cache/nginx/proxy_temp')};
    fastcgi_temp_path     ${p('/var/cache/nginx/fastcgi_temp')};
    uwsgi_temp_path       ${p('/var/cache/nginx/uwsgi_temp')};
    scgi_temp_path        ${p('/var/cache/nginx/scgi_temp')};

    sendfile           on;
    keepalive_timeout  65;
${layout === 'toplevel' ? '' : `\n    ${include}\n`}}
`;
}

// Container port → loopback: nginx must bind where the compose `ports:` entry publishes,
// and a `resolver` must never reach a real DNS server. Only the copy nginx loads is rewritten;
// the container's visible /etc/nginx/nginx.conf keeps `listen 80;`.
function runtimeCopy(rendered, publishers) {
  const lineMap = [];
  const out = rendered.split('\n').map((line) => {
    let next = line.replace(/^(\s*listen\s+)([^\s;]+)/, (_m, head, addr) => {
      const v6 = addr.startsWith('[');
      const port = Number(addr.includes(':') ? addr.slice(addr.lastIndexOf(':') + 1) : addr);
      if (!Number.isInteger(port)) return head + addr;
      const pub = publishers.find((p) => p.TargetPort === port);
      const hostPort = pub ? pub.PublishedPort : port;
      return head + (v6 ? `[::1]:${hostPort}` : `127.0.0.1:${hostPort}`);
    });
    next = next.replace(/^(\s*resolver\s+)([^;]*);/, (_m, head, args) => {
      const params = args.split(/\s+/).filter((t) => t.includes('='));
      return `${head}${['127.0.0.1', ...params].join(' ')};`;
    });
    if (next !== line) lineMap.push([next, line]);
    return next;
  });
  return { text: out.join('\n'), lineMap };
}

const ROOTFS_DIRS = ['/etc/nginx', '/var/cache/nginx', '/var/log/nginx', '/var/run', '/run', '/tmp'];
const OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.3\nPRETTY_NAME="Alpine Linux v3.21"\n';

// The container's filesystem: what exec'd commands see, mapped under <container>/rootfs.
export function rootfsOf(dir) {
  return join(dir, 'rootfs');
}

// Maps container paths in command arguments to the rootfs (only the trees the rootfs holds).
export function toHostPath(rootfs, arg) {
  return arg.replace(
    /(^|[\s'"=<>|;(&])(\/(?:etc\/nginx|etc\/os-release|var\/cache\/nginx|var\/log\/nginx|var\/run|run|entrypoint\.sh|docker-entrypoint\.d)(?=$|[\s/'";|&)<>]))/g,
    (_m, pre, path) => pre + rootfs + path,
  );
}

// Maps host paths in output back to container paths, and the rewritten lines back to the originals.
export function translator(rootfs) {
  const t = readJson(join(rootfs, '.runtime', 'translate.json'), { lineMap: [] });
  const pairs = [
    [join(rootfs, '.runtime', 'nginx.conf'), RENDERED],
    [join(rootfs, '.runtime', 'main.conf'), MAIN],
    [join(rootfs, '.runtime', 'main-toplevel.conf'), MAIN],
    [rootfs, ''],
  ];
  return (text) => {
    let out = text;
    for (const [runtimeLine, line] of t.lineMap) out = out.split(runtimeLine).join(line);
    for (const [from, to] of pairs) out = out.split(from).join(to);
    return out;
  };
}

function envsubst(template, env, blank) {
  const { envsubst: bin } = hostConfig();
  const r = spawnSync(bin, blank ? [] : [ENVSUBST_VARS], { input: template, env, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`envsubst failed: ${r.error ?? r.stderr}`);
  return r.stdout;
}

// What the entrypoint does at each container start: render the image's template with envsubst
// restricted to ${OCAPISTAINE_TARGET_URL} (blank-vars fault: no list, so nginx's own $variables
// vanish), lay out the main config (reject-new-config fault: include outside http {}).
// Returns the nginx argv prefix, or an entrypoint error that makes the container exit 1.
export function renderRootfs(dir, config) {
  const rootfs = rootfsOf(dir);
  rmSync(rootfs, { recursive: true, force: true });
  for (const d of ROOTFS_DIRS) mkdirSync(join(rootfs, d), { recursive: true });
  mkdirSync(join(rootfs, '.runtime'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/os-release'), OS_RELEASE);
  symlinkSync('/dev/stderr', join(rootfs, 'var/log/nginx/error.log'));
  symlinkSync('/dev/stdout', join(rootfs, 'var/log/nginx/access.log'));

  const image = loadImage(config.ImageId);
  copyImageFiles(image, rootfs);
  const template = imageTemplate(image);
  if (template === null) {
    return { error: `/entrypoint.sh: line 3: can't open ${IMAGE_TEMPLATE}: no such file` };
  }
  const env = { ...config.Env };
  const rendered = envsubst(template, env, faultOn('blank-vars', template));
  writeFileSync(join(rootfs, RENDERED), rendered);

  const layout = faultOn('reject-new-config', template) ? 'toplevel' : 'http';
  const visible = (p) => p;
  const runtimePath = (p) => (p === RENDERED ? join(rootfs, '.runtime', 'nginx.conf') : join(rootfs, p));
  writeFileSync(join(rootfs, MAIN), mainConfig(visible, layout));
  const runtime = runtimeCopy(rendered, config.Publishers ?? []);
  writeFileSync(join(rootfs, '.runtime', 'nginx.conf'), runtime.text);
  writeFileSync(join(rootfs, '.runtime', 'main.conf'), mainConfig(runtimePath, layout));
  writeFileSync(join(rootfs, '.runtime', 'main-toplevel.conf'), mainConfig(runtimePath, 'toplevel'));
  writeJson(join(rootfs, '.runtime', 'translate.json'), { lineMap: runtime.lineMap });
  return { rootfs, template };
}

function copyImageFiles(image, rootfs) {
  for (const path of image.Files ?? []) {
    const target = join(rootfs, path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(imageFile(image, path), target);
  }
}

// nginx as the container runs it: prefix, error log and main config inside the rootfs.
export function nginxArgv(rootfs, userArgs = [], main = 'main.conf') {
  const args = ['-p', rootfs + '/', '-e', join(rootfs, 'var/log/nginx/error.log')];
  const hasConfig = userArgs.includes('-c');
  const mapped = userArgs.map((a) => toHostPath(rootfs, a));
  if (hasConfig) {
    // `-c /etc/nginx/main.conf` means the runtime copy nginx really loads.
    const i = mapped.indexOf('-c');
    if (mapped[i + 1] === join(rootfs, MAIN)) mapped[i + 1] = join(rootfs, '.runtime', 'main.conf');
  } else {
    args.push('-c', join(rootfs, '.runtime', main));
  }
  return [...args, ...mapped];
}

let fifoSeq = 0;

// nginx opens /dev/stdout and /dev/stderr by path (the image's log symlinks). That works on a pipe
// or a FIFO, not on the socketpair that Node's 'pipe' stdio is (ENXIO). So children write to FIFOs.
export function spawnWithFifos(cmd, args, options, fifoDir) {
  const make = (kind) => {
    const path = join(fifoDir, `.${kind}.${process.pid}.${++fifoSeq}.fifo`);
    const r = spawnSync('mkfifo', ['-m', '600', path]);
    if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`);
    const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const write = openSync(path, constants.O_WRONLY);
    unlinkSync(path);
    return { read, write };
  };
  const o = make('stdout');
  const e = make('stderr');
  let child;
  try {
    child = spawn(cmd, args, { ...options, stdio: [options.stdin ?? 'ignore', o.write, e.write] });
  } finally {
    closeSync(o.write);
    closeSync(e.write);
  }
  const stdout = new Socket({ fd: o.read, readable: true, writable: false });
  const stderr = new Socket({ fd: e.read, readable: true, writable: false });
  return { child, stdout, stderr };
}
