// The test host's container daemon: owns the nginx processes of "containers", so they outlive the
// SSH session that ran `docker compose up`, restart by policy (a config nginx rejects becomes a
// crash loop, as with Docker's `restart: unless-stopped`), and die with the daemon.
// The `docker` CLI (docker.mjs) talks to it over ~/.fake-docker/docker.sock, one JSON line each way.
import { existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  PATHS,
  appendLog,
  faultOn,
  hostConfig,
  listContainers,
  loadContainer,
  nginxArgv,
  renderRootfs,
  spawnWithFifos,
  translator,
  writeState,
} from './common.mjs';

// name → { proc, stopping, timer, delay, startedAt }
const live = new Map();
// name → promise chain, so start/stop/remove on one container never interleave.
const queues = new Map();

function serially(name, fn) {
  const prev = queues.get(name) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  queues.set(name, next.catch(() => {}));
  return next;
}

function entry(name) {
  let e = live.get(name);
  if (!e) {
    e = { proc: null, stopping: false, timer: null, delay: 0, startedAt: 0 };
    live.set(name, e);
  }
  return e;
}

// Splits a stream into lines and appends each to the container's log, with container paths.
function pipeLines(name, stream, kind, translate) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      appendLog(name, kind, translate(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buf) appendLog(name, kind, translate(buf));
    buf = '';
  });
}

// One start of the container: the entrypoint (render), then nginx in the foreground.
function startOnce(name) {
  const c = loadContainer(name);
  if (!c) throw new Error(`No such container: ${name}`);
  const e = entry(name);
  e.stopping = false;
  let rendered;
  try {
    rendered = renderRootfs(c.dir, c.config);
  } catch (error) {
    rendered = { error: String(error?.message ?? error) };
  }
  const now = Date.now();
  if (rendered.error) {
    appendLog(name, 'stderr', rendered.error);
    writeState(name, { ...c.state, Status: 'running', Pid: 0, StartedAtMs: now, ExitCode: 0 });
    onExit(name, 1, now);
    return;
  }
  const translate = translator(rendered.rootfs);
  const { nginx } = hostConfig();
  if (faultOn('emerg-logs', rendered.template)) {
    // A real nginx [emerg] in the logs while the container runs: nginx's own check of a config
    // that includes the template outside http {}.
    const t = spawnWithFifos(nginx, nginxArgv(rendered.rootfs, ['-t'], 'main-toplevel.conf'), { cwd: rendered.rootfs, env: c.config.Env }, c.dir);
    pipeLines(name, t.stdout, 'stdout', translate);
    pipeLines(name, t.stderr, 'stderr', translate);
  }
  const { child: proc, stdout, stderr } = spawnWithFifos(
    nginx,
    [...nginxArgv(rendered.rootfs), '-g', 'daemon off;'],
    { cwd: rendered.rootfs, env: c.config.Env },
    c.dir,
  );
  e.proc = proc;
  e.startedAt = now;
  pipeLines(name, stdout, 'stdout', translate);
  pipeLines(name, stderr, 'stderr', translate);
  writeState(name, {
    ...c.state,
    Status: 'running',
    Pid: proc.pid ?? 0,
    StartedAtMs: now,
    ExitCode: 0,
    Error: '',
  });
  proc.on('exit', (code, signal) => {
    e.proc = null;
    const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGQUIT' ? 3 : 1);
    onExit(name, exitCode, e.startedAt);
  });
  proc.on('error', (error) => appendLog(name, 'stderr', `exec failed: ${error.message}`));
}

// Restart policy unless-stopped, with Docker's back-off: 100 ms doubling, reset after 10 s up.
function onExit(name, exitCode, startedAt) {
  const c = loadContainer(name);
  if (!c) return;
  const e = entry(name);
  const now = Date.now();
  const base = { ...c.state, Pid: 0, ExitCode: exitCode, FinishedAtMs: now };
  if (e.stopping || c.config.RestartPolicy !== 'unless-stopped') {
    writeState(name, { ...base, Status: 'exited' });
    return;
  }
  e.delay = now - startedAt >= 10_000 || e.delay === 0 ? 100 : Math.min(e.delay * 2, 60_000);
  writeState(name, { ...base, Status: 'restarting', RestartCount: (c.state.RestartCount ?? 0) + 1 });
  e.timer = setTimeout(() => {
    e.timer = null;
    serially(name, () => {
      if (!e.stopping && loadContainer(name)) startOnce(name);
    });
  }, e.delay);
}

function waitExit(proc, ms) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// docker stop: the nginx image's STOPSIGNAL is SIGQUIT (graceful), then SIGKILL after the timeout.
async function stop(name, timeoutSec = 10) {
  const e = entry(name);
  e.stopping = true;
  if (e.timer) {
    clearTimeout(e.timer);
    e.timer = null;
  }
  const proc = e.proc;
  if (proc) {
    proc.kill('SIGQUIT');
    if (!(await waitExit(proc, timeoutSec * 1000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    }
  }
  const c = loadContainer(name);
  if (c && (c.state.Status === 'restarting' || c.state.Status === 'running')) {
    writeState(name, { ...c.state, Status: 'exited', Pid: 0, FinishedAtMs: Date.now() });
  }
}

async function start(name) {
  const e = entry(name);
  if (e.proc) return;
  if (e.timer) {
    clearTimeout(e.timer);
    e.timer = null;
  }
  e.delay = 0;
  startOnce(name);
  // Let an immediate crash show up in the state before answering, as `docker start` would race it.
  await new Promise((resolve) => setTimeout(resolve, 150));
}

async function handle(req) {
  const { op, name } = req;
  switch (op) {
    case 'ping':
      return { ok: true, pid: process.pid };
    case 'start':
      await serially(name, () => start(name));
      return { ok: true, state: loadContainer(name)?.state };
    case 'stop':
      await serially(name, () => stop(name, req.timeout));
      return { ok: true, state: loadContainer(name)?.state };
    case 'restart':
      await serially(name, async () => {
        await stop(name, req.timeout);
        await start(name);
      });
      return { ok: true, state: loadContainer(name)?.state };
    case 'remove':
      await serially(name, async () => {
        await stop(name, req.timeout);
        live.delete(name);
        rmSync(join(PATHS.containers, name), { recursive: true, force: true });
      });
      return { ok: true };
    default:
      return { ok: false, error: `unknown op ${op}` };
  }
}

const server = createServer((socket) => {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  socket.on('data', async (chunk) => {
    buf += chunk;
    const i = buf.indexOf('\n');
    if (i < 0) return;
    const line = buf.slice(0, i);
    buf = '';
    let reply;
    try {
      reply = await handle(JSON.parse(line));
    } catch (error) {
      reply = { ok: false, error: String(error?.message ?? error) };
    }
    socket.end(JSON.stringify(reply) + '\n');
  });
});

async function shutdown() {
  server.close();
  await Promise.all([...live.keys()].map((name) => serially(name, () => stop(name, 5))));
  try {
    unlinkSync(PATHS.sock);
  } catch {}
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

if (existsSync(PATHS.sock)) unlinkSync(PATHS.sock);
server.listen(PATHS.sock, () => {
  writeFileSync(join(PATHS.root, 'dockerd.pid'), String(process.pid));
  // Like dockerd at boot: containers that were up come back (restart policy unless-stopped).
  for (const c of listContainers()) {
    if (c.state.Status === 'running' || c.state.Status === 'restarting') {
      serially(c.name, () => start(c.name)).catch(() => {});
    }
  }
  process.stdout.write(`dockerd listening on ${PATHS.sock}\n`);
});
