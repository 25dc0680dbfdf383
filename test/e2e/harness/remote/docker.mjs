// `docker` on the test host: the Docker Compose v2 subset of shared/remote-host.md, driving real
// nginx processes through dockerd.mjs. Progress goes to stderr, data to stdout, as real Compose does;
// a container's stderr log lines come out on stderr (Compose >= 2.15 keeps the streams apart).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import {
  IMAGE_ENV,
  IMAGE_TEMPLATE,
  PATHS,
  containerDir,
  dockerTime,
  faultOn,
  hostConfig,
  humanDuration,
  imageDir,
  imageTemplate,
  listContainers,
  loadContainer,
  loadImage,
  nginxArgv,
  randomId,
  readLog,
  readTags,
  renderRootfs,
  sha256,
  spawnWithFifos,
  statusString,
  toHostPath,
  translator,
  writeJson,
  writeState,
} from './common.mjs';

class Exit extends Error {
  constructor(code, message) {
    super(message ?? '');
    this.code = code;
  }
}

const out = (s) => process.stdout.write(s);
const err = (s) => process.stderr.write(s);
// Compose's plain progress line: fmt.Fprintln("", e.ID, e.Text, e.StatusText).
const progress = (id, status) => err(` ${id}  ${status}\n`);
const fail = (message, code = 1) => {
  throw new Exit(code, message);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- flags ----------
// spec: { bool: [...names], value: [...names], multi: [...names] }; names include their dashes.
function parseFlags(args, spec, { stopAtPositional = false } = {}) {
  const bool = new Set(spec.bool ?? []);
  const value = new Set([...(spec.value ?? []), ...(spec.multi ?? [])]);
  const multi = new Set(spec.multi ?? []);
  const flags = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-' && !(stopAtPositional && positional.length > 0)) {
      const eq = a.indexOf('=');
      const name = eq > 0 && a.startsWith('--') ? a.slice(0, eq) : a;
      if (bool.has(name)) {
        flags[name] = eq > 0 ? a.slice(eq + 1) !== 'false' : true;
      } else if (value.has(name)) {
        const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
        if (v === undefined) fail(`flag needs an argument: ${name}`);
        if (multi.has(name)) (flags[name] ??= []).push(v);
        else flags[name] = v;
      } else if (/^-[a-zA-Z]{2,}$/.test(a) && [...a.slice(1)].every((c) => bool.has(`-${c}`))) {
        for (const c of a.slice(1)) flags[`-${c}`] = true;
      } else {
        fail(`unknown flag: ${name}`);
      }
    } else {
      positional.push(a);
      if (stopAtPositional) {
        positional.push(...args.slice(i + 1));
        break;
      }
    }
  }
  return { flags, positional };
}

const pick = (flags, ...names) => names.map((n) => flags[n]).find((v) => v !== undefined);

// ---------- a compose file, the subset this host's compose.yaml uses ----------
function parseYaml(text) {
  const lines = text
    .split('\n')
    .map((raw) => raw.replace(/\s+#.*$/, '').replace(/\s+$/, ''))
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  let i = 0;
  const indentOf = (l) => l.search(/\S/);
  const scalar = (v) => {
    const s = v.trim();
    if (s.startsWith('[') && s.endsWith(']')) {
      return s
        .slice(1, -1)
        .split(',')
        .map((x) => scalar(x))
        .filter((x) => x !== '');
    }
    if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) return s.slice(1, -1);
    return s;
  };
  const block = () => {
    const ind = indentOf(lines[i]);
    if (lines[i].trim().startsWith('- ')) {
      const arr = [];
      while (i < lines.length && indentOf(lines[i]) === ind && lines[i].trim().startsWith('- ')) {
        arr.push(scalar(lines[i].trim().slice(2)));
        i++;
      }
      return arr;
    }
    const obj = {};
    while (i < lines.length && indentOf(lines[i]) >= ind) {
      const m = lines[i].trim().match(/^([^:\s][^:]*):(?:\s+(.*))?$/);
      if (!m) fail(`yaml: line ${i + 1}: could not find expected ':'`);
      i++;
      const key = scalar(m[1]);
      if (m[2] !== undefined && m[2] !== '') obj[key] = scalar(m[2]);
      else if (i < lines.length && (indentOf(lines[i]) > ind || lines[i].trim().startsWith('- '))) obj[key] = block();
      else obj[key] = null;
    }
    return obj;
  };
  return lines.length ? block() : {};
}

function parseEnvFile(path) {
  const env = {};
  if (!existsSync(path)) return env;
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

function interpolate(value, vars) {
  return String(value).replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, op, def, b) => {
    if (m === '$$') return '$';
    const name = a ?? b;
    const v = vars[name];
    if (op === ':-') return v ? v : def;
    if (op === '-') return v !== undefined ? v : def;
    return v ?? '';
  });
}

// Finds compose.yaml like Compose does (cwd, then parents), applies -f/--project-directory/-p.
function loadProject(global) {
  let file;
  const files = global['-f'] ?? global['--file'];
  if (files?.length) file = resolve(files[0]);
  else {
    const names = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
    let dir = resolve(global['--project-directory'] ?? process.cwd());
    for (;;) {
      const found = names.map((n) => join(dir, n)).find((p) => existsSync(p));
      if (found) {
        file = found;
        break;
      }
      const up = dirname(dir);
      if (up === dir) fail('no configuration file provided: not found');
      dir = up;
    }
  }
  if (!existsSync(file)) fail(`open ${file}: no such file or directory`);
  const dir = resolve(global['--project-directory'] ?? dirname(file));
  const envFile = global['--env-file'] ? resolve(global['--env-file']) : join(dir, '.env');
  const vars = { ...parseEnvFile(envFile), ...process.env };
  const doc = parseYaml(readFileSync(file, 'utf8'));
  const name = global['-p'] ?? global['--project-name'] ?? doc.name ?? basename(dir).toLowerCase();
  const profiles = new Set([...(global['--profile'] ?? []), ...(vars.COMPOSE_PROFILES?.split(',') ?? [])]);
  const services = {};
  for (const [svc, def] of Object.entries(doc.services ?? {})) {
    const d = def ?? {};
    const env = {};
    if (Array.isArray(d.environment)) {
      for (const kv of d.environment) {
        const [k, ...rest] = String(kv).split('=');
        env[k] = rest.length ? interpolate(rest.join('='), vars) : (vars[k] ?? '');
      }
    } else {
      for (const [k, v] of Object.entries(d.environment ?? {})) env[k] = v === null ? (vars[k] ?? '') : interpolate(v, vars);
    }
    const publishers = (d.ports ?? []).map((p) => {
      const parts = interpolate(p, vars).split('/')[0].split(':');
      const target = Number(parts.pop());
      const published = parts.length ? Number(parts.pop()) : 0;
      return { URL: parts.pop() ?? '0.0.0.0', TargetPort: target, PublishedPort: published, Protocol: 'tcp' };
    });
    services[svc] = {
      name: svc,
      image: d.image ? interpolate(d.image, vars) : undefined,
      build: d.build ?? undefined,
      profiles: Array.isArray(d.profiles) ? d.profiles : [],
      env,
      publishers,
      restart: d.restart ?? 'no',
    };
  }
  return { name, dir, file, services, profiles, vars, text: readFileSync(file, 'utf8') };
}

function activeServices(project) {
  return Object.values(project.services).filter(
    (s) => s.profiles.length === 0 || s.profiles.some((p) => project.profiles.has(p) || project.profiles.has('*')),
  );
}

// Named services are enabled whatever their profiles, as in Compose.
function targetServices(project, names) {
  if (!names.length) return activeServices(project);
  return names.map((n) => project.services[n] ?? fail(`no such service: ${n}`));
}

const containerName = (project, svc, n = 1) => `${project.name}-${svc.name}-${n}`;
const imageName = (project, svc) => svc.image ?? `${project.name}-${svc.name}`;

function serviceContainer(project, svc) {
  return listContainers().find(
    (c) => c.config.Project === project.name && c.config.Service === svc.name && !c.config.Oneoff,
  );
}

// Only the service built from the template is emulated; say so instead of faking the rest.
function requireEmulated(svc) {
  if (!svc.build) {
    fail(`e2e test host: service "${svc.name}" (image ${svc.image}) is not emulated; only built services are`);
  }
}

// ---------- daemon ----------
function daemon(op, args = {}) {
  return new Promise((resolveReply, reject) => {
    const socket = connect(PATHS.sock);
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify({ op, ...args }) + '\n'));
    socket.on('data', (d) => (buf += d));
    socket.on('end', () => {
      try {
        const reply = JSON.parse(buf);
        if (!reply.ok) reject(new Exit(1, `Error response from daemon: ${reply.error}`));
        else resolveReply(reply);
      } catch {
        reject(new Exit(1, 'Error response from daemon: malformed reply'));
      }
    });
    socket.on('error', () =>
      reject(new Exit(1, 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?')),
    );
  });
}

// ---------- build ----------
function parseDockerfile(text) {
  const steps = [];
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instr, ...rest] = line.split(/\s+/);
    steps.push({ instr: instr.toUpperCase(), args: rest, line });
  }
  return steps;
}

function buildImage(project, svc) {
  const b = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
  const context = resolve(project.dir, b.context ?? '.');
  const dockerfileRel = b.dockerfile ?? 'Dockerfile';
  const dockerfilePath = resolve(context, dockerfileRel);
  const tag = imageName(project, svc);
  const p = (s) => err(s + '\n');
  let n = 0;
  const step = (title, lines = [], status = 'DONE 0.0s') => {
    n++;
    p(`#${n} ${title}`);
    for (const l of lines) p(`#${n} ${l}`);
    p(`#${n} ${status}`);
    p('');
  };
  p('#0 building with "default" instance using docker driver');
  p('');
  if (!existsSync(dockerfilePath)) {
    step(`[${svc.name} internal] load build definition from ${basename(dockerfileRel)}`, ['transferring dockerfile: 2B done'], 'ERROR: failed to read dockerfile');
    fail(`failed to solve: failed to read dockerfile: open ${basename(dockerfileRel)}: no such file or directory`, 17);
  }
  const dockerfile = readFileSync(dockerfilePath, 'utf8');
  const steps = parseDockerfile(dockerfile);
  const from = steps.find((s) => s.instr === 'FROM')?.args[0] ?? 'scratch';
  step(`[${svc.name} internal] load build definition from ${basename(dockerfileRel)}`, [`transferring dockerfile: ${Buffer.byteLength(dockerfile)}B done`]);
  step(`[${svc.name} internal] load metadata for docker.io/library/${from}`);
  step(`[${svc.name} internal] load .dockerignore`, ['transferring context: 2B done']);
  const copies = steps.filter((s) => s.instr === 'COPY' || s.instr === 'ADD');
  const files = [];
  let total = 0;
  for (const c of copies) {
    const args = c.args.filter((a) => !a.startsWith('--'));
    const dest = args.pop();
    for (const src of args) {
      const abs = resolve(context, src);
      if (!existsSync(abs)) {
        step(`[${svc.name} internal] load build context`, ['transferring context: 2B done']);
        p(`#${n + 1} [${svc.name} ${copies.indexOf(c) + 2}/${copies.length + 1}] ${c.line}`);
        p(`#${n + 1} ERROR: failed to calculate checksum of ref ${randomId().slice(0, 25)}::${randomId().slice(0, 25)}: "/${src}": not found`);
        fail(`failed to solve: failed to compute cache key: failed to calculate checksum of ref ${randomId().slice(0, 25)}::${randomId().slice(0, 25)}: "/${src}": not found`, 17);
      }
      const target = dest.endsWith('/') ? join(dest, basename(src)) : dest;
      const content = readFileSync(abs);
      total += content.length;
      files.push({ path: target, content });
    }
  }
  const template = files.find((f) => f.path === IMAGE_TEMPLATE)?.content.toString('utf8') ?? '';
  if (faultOn('stale-image', template)) {
    // The build "succeeds" but the image keeps the host's original template (a COPY that misses the
    // edit): same image id, so `up -d` leaves the container running its old config.
    const baseline = readFileSync(PATHS.baseline);
    for (const f of files) if (f.path === IMAGE_TEMPLATE) f.content = baseline;
  }
  if (faultOn('build-fails', template)) {
    step(`[${svc.name} internal] load build context`, [`transferring context: ${total}B done`]);
    p(`#${n + 1} [${svc.name} 2/${copies.length + 1}] ${copies[0]?.line ?? 'COPY'}`);
    p(`#${n + 1} ERROR: failed to copy files: copy file range failed: no space left on device`);
    p('------');
    p(` > [${svc.name} 2/${copies.length + 1}] ${copies[0]?.line ?? 'COPY'}:`);
    p('------');
    fail('failed to solve: failed to copy files: copy file range failed: no space left on device', 17);
  }
  const entrypoint = steps.find((s) => s.instr === 'ENTRYPOINT')?.line.replace(/^ENTRYPOINT\s+/i, '') ?? '';
  const idHash = sha256(
    JSON.stringify({ from, entrypoint, files: files.map((f) => [f.path, sha256(f.content)]) }),
  );
  const id = `sha256:${idHash}`;
  step(`[${svc.name} 1/${copies.length + 1}] FROM docker.io/library/${from}`);
  step(`[${svc.name} internal] load build context`, [`transferring context: ${total}B done`]);
  const exists = existsSync(join(imageDir(id), 'image.json'));
  copies.forEach((c, k) => step(`[${svc.name} ${k + 2}/${copies.length + 1}] ${c.line}`, [], exists ? 'CACHED' : 'DONE 0.0s'));
  if (!exists) {
    for (const f of files) {
      const target = join(imageDir(id), 'files', f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content);
    }
    writeJson(join(imageDir(id), 'image.json'), {
      Id: id,
      CreatedMs: Date.now(),
      RepoTags: [`${tag}:latest`],
      From: from,
      Entrypoint: entrypoint,
      Files: files.map((f) => f.path),
    });
  }
  const tags = readTags();
  tags[tag] = id;
  writeJson(PATHS.tags, tags);
  step(`[${svc.name}] exporting to image`, [
    'exporting layers done',
    `writing image ${id} done`,
    `naming to docker.io/library/${tag} done`,
  ]);
  return id;
}

async function cmdBuild(project, args) {
  const { flags, positional } = parseFlags(args, {
    bool: ['--no-cache', '--pull', '-q', '--quiet', '--with-dependencies', '--push'],
    value: ['--progress', '--builder', '-m', '--memory', '--ssh'],
    multi: ['--build-arg'],
  });
  void flags;
  for (const svc of targetServices(project, positional)) {
    if (svc.build) buildImage(project, svc);
  }
}

// ---------- containers ----------
function desiredConfig(project, svc, imageId) {
  const config = {
    ImageId: imageId,
    Image: imageName(project, svc),
    Env: { ...IMAGE_ENV, HOSTNAME: '', HOME: '/root', ...svc.env },
    Publishers: svc.publishers,
    RestartPolicy: svc.restart,
  };
  return { ...config, ConfigHash: sha256(JSON.stringify(config)) };
}

function createContainer(project, svc, desired, { oneoff = false } = {}) {
  const id = randomId();
  const name = oneoff ? `${project.name}-${svc.name}-run-${id.slice(0, 12)}` : containerName(project, svc);
  const config = {
    ...desired,
    Id: id,
    Name: name,
    CreatedMs: Date.now(),
    Project: project.name,
    Service: svc.name,
    Number: 1,
    Oneoff: oneoff,
    WorkingDir: project.dir,
    ConfigFiles: project.file,
    Entrypoint: ['/entrypoint.sh'],
  };
  config.Env = { ...config.Env, HOSTNAME: id.slice(0, 12) };
  mkdirSync(containerDir(name), { recursive: true });
  writeJson(join(containerDir(name), 'config.json'), config);
  writeState(name, { Status: 'created', Pid: 0, ExitCode: 0, RestartCount: 0, StartedAtMs: 0, FinishedAtMs: 0 });
  writeFileSync(join(containerDir(name), 'log.ndjson'), '');
  return name;
}

async function cmdUp(project, args) {
  const { flags, positional } = parseFlags(args, {
    bool: ['-d', '--detach', '--force-recreate', '--no-recreate', '--no-deps', '--no-build', '--build', '--wait', '--remove-orphans', '--quiet-pull', '--no-start', '--always-recreate-deps', '-V', '--renew-anon-volumes', '--no-color', '--no-log-prefix'],
    value: ['--wait-timeout', '--pull', '-t', '--timeout'],
    multi: ['--scale', '--attach', '--no-attach'],
  });
  if (!pick(flags, '-d', '--detach')) {
    fail('e2e test host: `up` without -d (attached mode) is not emulated; use `up -d`');
  }
  const services = targetServices(project, positional);
  services.forEach(requireEmulated);
  for (const svc of services) {
    const tag = imageName(project, svc);
    let imageId = readTags()[tag];
    if (!imageId || flags['--build']) {
      if (flags['--no-build'] && !imageId) fail(`image ${tag} not found`);
      imageId = buildImage(project, svc);
    }
    const desired = desiredConfig(project, svc, imageId);
    const existing = serviceContainer(project, svc);
    const label = (name) => `Container ${name}`;
    let name;
    if (existing && existing.config.ConfigHash === desired.ConfigHash && !flags['--force-recreate']) {
      name = existing.name;
      if (existing.state.Status === 'running' || existing.state.Status === 'restarting') {
        progress(label(name), 'Running');
        continue;
      }
    } else if (existing && flags['--no-recreate']) {
      progress(label(existing.name), 'Running');
      continue;
    } else if (existing) {
      progress(label(existing.name), 'Recreate');
      await daemon('remove', { name: existing.name });
      name = createContainer(project, svc, desired);
      progress(label(name), 'Recreated');
    } else {
      name = containerName(project, svc);
      progress(label(name), 'Creating');
      name = createContainer(project, svc, desired);
      progress(label(name), 'Created');
    }
    if (flags['--no-start']) continue;
    progress(label(name), 'Starting');
    if (faultOn('up-fails', imageTemplate(loadImage(imageId)) ?? '')) {
      const port = desired.Publishers[0]?.PublishedPort ?? 80;
      fail(
        `Error response from daemon: driver failed programming external connectivity on endpoint ${name} (${randomId()}): Bind for 127.0.0.1:${port} failed: port is already allocated`,
      );
    }
    await daemon('start', { name });
    progress(label(name), 'Started');
    if (flags['--wait']) await waitRunning(name, Number(flags['--wait-timeout'] ?? 60));
  }
}

async function waitRunning(name, timeoutSec) {
  progress(`Container ${name}`, 'Waiting');
  const deadline = Date.now() + timeoutSec * 1000;
  while (Date.now() < deadline) {
    const c = loadContainer(name);
    if (c?.state.Status === 'running' && Date.now() - c.state.StartedAtMs > 500) {
      progress(`Container ${name}`, 'Healthy');
      return;
    }
    if (c && c.state.Status !== 'running') fail(`container ${name} exited (${c.state.ExitCode})`);
    await sleep(100);
  }
  fail(`timeout waiting for container ${name}`);
}

async function cmdLifecycle(project, args, op) {
  const { positional, flags } = parseFlags(args, { value: ['-t', '--timeout'], bool: ['--remove-orphans', '-v', '--volumes', '--no-deps'] });
  const timeout = Number(pick(flags, '-t', '--timeout') ?? 10);
  const services = op === 'down' ? Object.values(project.services) : targetServices(project, positional);
  const containers = services.map((s) => serviceContainer(project, s)).filter(Boolean);
  for (const c of containers) {
    const label = `Container ${c.name}`;
    if (op === 'restart') {
      progress(label, 'Restarting');
      await daemon('restart', { name: c.name, timeout });
      progress(label, 'Started');
    } else if (op === 'stop') {
      progress(label, 'Stopping');
      await daemon('stop', { name: c.name, timeout });
      progress(label, 'Stopped');
    } else if (op === 'start') {
      progress(label, 'Starting');
      await daemon('start', { name: c.name });
      progress(label, 'Started');
    } else if (op === 'down') {
      progress(label, 'Stopping');
      await daemon('stop', { name: c.name, timeout });
      progress(label, 'Stopped');
      progress(label, 'Removing');
      await daemon('remove', { name: c.name });
      progress(label, 'Removed');
    }
  }
}

// ---------- ps ----------
function portsText(publishers) {
  return publishers
    .map((p) => (p.PublishedPort ? `${p.URL}:${p.PublishedPort}->${p.TargetPort}/${p.Protocol}` : `${p.TargetPort}/${p.Protocol}`))
    .join(', ');
}

function goTime(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000 UTC`;
}

function labelsOf(c) {
  return {
    'com.docker.compose.config-hash': c.config.ConfigHash,
    'com.docker.compose.container-number': String(c.config.Number),
    'com.docker.compose.image': c.config.ImageId,
    'com.docker.compose.oneoff': c.config.Oneoff ? 'True' : 'False',
    'com.docker.compose.project': c.config.Project,
    'com.docker.compose.project.config_files': c.config.ConfigFiles,
    'com.docker.compose.project.working_dir': c.config.WorkingDir,
    'com.docker.compose.service': c.config.Service,
    'com.docker.compose.version': hostConfig().composeVersion,
  };
}

// The fields `docker compose ps --format json` prints (Compose >= 2.21: one object a line).
function psRow(c, now) {
  const command = '"/entrypoint.sh"';
  return {
    Command: command,
    CreatedAt: goTime(c.config.CreatedMs),
    ExitCode: c.state.ExitCode ?? 0,
    Health: '',
    ID: c.config.Id.slice(0, 12),
    Image: c.config.Image,
    Labels: Object.entries(labelsOf(c))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    LocalVolumes: '0',
    Mounts: '',
    Name: c.name,
    Names: c.name,
    Networks: `${c.config.Project}_default`,
    Ports: portsText(c.config.Publishers ?? []),
    Project: c.config.Project,
    Publishers: c.config.Publishers ?? [],
    RunningFor: `${humanDuration(now - c.config.CreatedMs)} ago`,
    Service: c.config.Service,
    Size: '0B',
    State: c.state.Status,
    Status: statusString(c.state, now),
  };
}

// docker's tabwriter: minwidth 10, padding 3.
function table(header, rows) {
  const widths = header.map((h, k) => Math.max(10, ...[h, ...rows.map((r) => r[k])].map((s) => s.length + 3)));
  const line = (cells) =>
    cells
      .map((cell, k) => (k === cells.length - 1 ? cell : cell.padEnd(widths[k])))
      .join('')
      .replace(/\s+$/, '');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

// A small Go-template subset: {{.A.B}}, {{json .A}}, {{json .}}.
function goTemplate(format, data) {
  return format
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n')
    .replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_m, json, path) => {
      const v = path ? path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), data) : data;
      if (json) return JSON.stringify(v ?? null);
      if (v === undefined || v === null) return '<no value>';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
}

async function cmdPs(project, args) {
  const { flags, positional } = parseFlags(args, {
    bool: ['-a', '--all', '-q', '--quiet', '--services', '--no-trunc', '--orphans'],
    value: ['--format'],
    multi: ['--status', '--filter'],
  });
  const services = positional.length ? targetServices(project, positional).map((s) => s.name) : null;
  const all = pick(flags, '-a', '--all');
  const statuses = flags['--status'] ?? [];
  const now = Date.now();
  const containers = listContainers().filter(
    (c) =>
      c.config.Project === project.name &&
      (!services || services.includes(c.config.Service)) &&
      (all || c.state.Status === 'running' || c.state.Status === 'restarting') &&
      (!statuses.length || statuses.includes(c.state.Status)),
  );
  if (pick(flags, '-q', '--quiet')) return out(containers.map((c) => c.config.Id + '\n').join(''));
  if (flags['--services']) return out([...new Set(containers.map((c) => c.config.Service))].map((s) => s + '\n').join(''));
  const format = flags['--format'] ?? 'table';
  const rows = containers.map((c) => psRow(c, now));
  if (format === 'json') return out(rows.map((r) => JSON.stringify(r) + '\n').join(''));
  if (format === 'table') {
    return out(
      table(
        ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
        rows.map((r) => [r.Name, r.Image, r.Command, r.Service, r.RunningFor, r.Status, r.Ports]),
      ),
    );
  }
  out(rows.map((r) => goTemplate(format.replace(/^table\s+/, ''), r) + '\n').join(''));
}

// ---------- logs ----------
function logPrefix(name, width) {
  return `${name.padEnd(width)} | `;
}

async function cmdLogs(project, args) {
  const { flags, positional } = parseFlags(args, {
    bool: ['--no-color', '-t', '--timestamps', '-f', '--follow', '--no-log-prefix'],
    value: ['--tail', '-n', '--since', '--until', '--index'],
  });
  const services = targetServices(project, positional.length ? positional : Object.keys(project.services)).map((s) => s.name);
  const containers = listContainers().filter((c) => c.config.Project === project.name && services.includes(c.config.Service));
  const shortName = (c) => `${c.config.Service}-${c.config.Number}`;
  const width = Math.max(0, ...containers.map((c) => shortName(c).length)) + 1;
  const tail = pick(flags, '--tail', '-n');
  const stamps = pick(flags, '-t', '--timestamps');
  const prefixOn = !flags['--no-log-prefix'];
  const emit = (c, e) => {
    const line = `${prefixOn ? logPrefix(shortName(c), width) : ''}${stamps ? dockerTime(e.time) + ' ' : ''}${e.log}\n`;
    (e.stream === 'stderr' ? err : out)(line);
  };
  const seen = new Map();
  for (const c of containers) {
    let entries = readLog(c.name);
    seen.set(c.name, entries.length);
    if (tail !== undefined && tail !== 'all') entries = entries.slice(Math.max(0, entries.length - Number(tail)));
    for (const e of entries) emit(c, e);
  }
  if (!pick(flags, '-f', '--follow')) return;
  // `logs -f` never returns while a container runs, as with real Compose.
  for (;;) {
    await sleep(200);
    let anyUp = false;
    for (const c of containers) {
      const now = loadContainer(c.name);
      if (!now) continue;
      if (now.state.Status === 'running' || now.state.Status === 'restarting') anyUp = true;
      const entries = readLog(c.name);
      for (const e of entries.slice(seen.get(c.name) ?? 0)) emit(c, e);
      seen.set(c.name, entries.length);
    }
    if (!anyUp) return;
  }
}

// ---------- exec / run ----------
// Runs CMD "in" the container: container env, container paths mapped to its rootfs, `nginx` as
// the image runs it, output paths mapped back.
async function runInContainer(c, cmd, { env = {}, workdir } = {}) {
  if (!cmd.length) fail('requires at least 1 argument');
  const rootfs = join(c.dir, 'rootfs');
  const translate = translator(rootfs);
  const containerEnv = { ...c.config.Env, ...env };
  const [prog, ...rest] = cmd;
  if (prog === 'env' && rest.length === 0) {
    out(Object.entries(containerEnv).map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  }
  if (prog === 'printenv') {
    if (!rest.length) {
      out(Object.entries(containerEnv).map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    }
    let code = 0;
    for (const k of rest) {
      if (k in containerEnv) out(containerEnv[k] + '\n');
      else code = 1;
    }
    return code;
  }
  const shimDir = join(c.dir, 'shim');
  mkdirSync(shimDir, { recursive: true });
  const shim = join(shimDir, 'nginx');
  if (!existsSync(shim)) {
    writeFileSync(shim, `#!/bin/sh\nexec ${process.execPath} ${join(PATHS.root, 'lib', 'docker.mjs')} __nginx ${c.name} "$@"\n`, { mode: 0o755 });
  }
  let argv;
  if (prog === 'nginx') argv = [hostConfig().nginx, ...nginxArgv(rootfs, rest)];
  else argv = [prog, ...rest.map((a) => toHostPath(rootfs, a))];
  const childEnv = { ...containerEnv, PATH: `${shimDir}:${containerEnv.PATH ?? IMAGE_ENV.PATH}` };
  const which = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', argv[0]], { env: childEnv, encoding: 'utf8' });
  if (which.status !== 0) {
    err(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${prog}": executable file not found in $PATH: unknown\n`);
    return 126;
  }
  return await new Promise((resolveCode) => {
    const { child, stdout, stderr } = spawnWithFifos(
      argv[0],
      argv.slice(1),
      { cwd: workdir ? toHostPath(rootfs, workdir) : rootfs, env: childEnv, stdin: 'inherit' },
      c.dir,
    );
    let pending = 3;
    let exitCode = 0;
    const settle = () => --pending === 0 && resolveCode(exitCode);
    stdout.on('data', (d) => out(translate(d.toString('utf8'))));
    stderr.on('data', (d) => err(translate(d.toString('utf8'))));
    stdout.on('close', settle);
    stderr.on('close', settle);
    child.on('error', () => {
      exitCode = 126;
      settle();
    });
    child.on('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      settle();
    });
  });
}

function execFlags(args) {
  return parseFlags(
    args,
    { bool: ['-T', '--no-TTY', '-d', '--detach', '--privileged', '-i', '--interactive', '-t', '--tty', '--rm', '--no-deps', '--service-ports', '--remove-orphans', '--build', '--quiet-pull'], value: ['-u', '--user', '-w', '--workdir', '--index', '--name', '--entrypoint', '--pull'], multi: ['-e', '--env', '-l', '--label', '-p', '--publish', '-v', '--volume'] },
    { stopAtPositional: true },
  );
}

function envFlags(flags) {
  const env = {};
  for (const kv of [...(flags['-e'] ?? []), ...(flags['--env'] ?? [])]) {
    const [k, ...rest] = kv.split('=');
    env[k] = rest.length ? rest.join('=') : (process.env[k] ?? '');
  }
  return env;
}

function requireRunning(c, composeStyle, service) {
  if (!c || c.state.Status === 'exited' || c.state.Status === 'created') {
    if (composeStyle) fail(`service "${service}" is not running`);
    fail(`Error response from daemon: container ${c?.config.Id ?? ''} is not running`);
  }
  if (c.state.Status === 'restarting') {
    fail(`Error response from daemon: Container ${c.config.Id} is restarting, wait until the container is running`);
  }
}

async function cmdExec(project, args) {
  const { flags, positional } = execFlags(args);
  const [service, ...cmd] = positional;
  if (!service) fail('exec requires at least 2 arguments');
  const svc = project.services[service] ?? fail(`no such service: ${service}`);
  const c = serviceContainer(project, svc);
  requireRunning(c, true, service);
  return runInContainer(c, cmd, { env: envFlags(flags), workdir: pick(flags, '-w', '--workdir') });
}

// A throwaway container from the image just built; the entrypoint renders, then runs CMD.
async function cmdRun(project, args) {
  const { flags, positional } = execFlags(args);
  const [service, ...cmd] = positional;
  if (!service) fail('run requires at least 1 argument');
  const svc = project.services[service] ?? fail(`no such service: ${service}`);
  requireEmulated(svc);
  if (!cmd.length) fail('e2e test host: `run` without a command (the service itself) is not emulated');
  let imageId = readTags()[imageName(project, svc)];
  if (!imageId) imageId = buildImage(project, svc);
  const desired = desiredConfig(project, svc, imageId);
  const name = createContainer(project, svc, { ...desired, RestartPolicy: 'no' }, { oneoff: true });
  const c = loadContainer(name);
  try {
    const rendered = renderRootfs(c.dir, c.config);
    if (rendered.error) {
      err(rendered.error + '\n');
      return 1;
    }
    const code = await runInContainer(loadContainer(name), cmd, { env: envFlags(flags) });
    writeState(name, { ...c.state, Status: 'exited', ExitCode: code, FinishedAtMs: Date.now() });
    return code;
  } finally {
    if (flags['--rm']) rmSync(containerDir(name), { recursive: true, force: true });
  }
}

// ---------- config / version ----------
async function cmdConfig(project, args) {
  const { flags } = parseFlags(args, { bool: ['--services', '--profiles', '--images', '-q', '--quiet', '--volumes', '--no-interpolate'], value: ['--format', '-o', '--output', '--hash'] });
  if (pick(flags, '-q', '--quiet')) return;
  if (flags['--services']) return out(activeServices(project).map((s) => s.name + '\n').join(''));
  if (flags['--profiles']) {
    const all = new Set(Object.values(project.services).flatMap((s) => s.profiles));
    return out([...all].sort().map((p) => p + '\n').join(''));
  }
  if (flags['--images']) return out(activeServices(project).map((s) => imageName(project, s) + '\n').join(''));
  // Like Compose: the resolved model, variables interpolated (secrets included).
  out(flags['--no-interpolate'] ? project.text : interpolate(project.text, project.vars));
}

function cmdComposeVersion(args) {
  const { flags } = parseFlags(args, { bool: ['--short'], value: ['-f', '--format'] });
  const v = hostConfig().composeVersion;
  if (flags['--short']) return out(`${v}\n`);
  if (pick(flags, '-f', '--format') === 'json') return out(JSON.stringify({ version: `v${v}` }) + '\n');
  out(`Docker Compose version v${v}\n`);
}

// ---------- docker compose ----------
async function compose(args) {
  const { flags: global, positional } = parseFlags(
    args,
    {
      bool: ['--dry-run', '--compatibility', '--all-resources', '-v', '--version'],
      value: ['-p', '--project-name', '--project-directory', '--env-file', '--ansi', '--progress', '--parallel'],
      multi: ['-f', '--file', '--profile'],
    },
    { stopAtPositional: true },
  );
  if (global['-f'] || global['--file']) global['-f'] = [...(global['-f'] ?? []), ...(global['--file'] ?? [])];
  if (global['--dry-run']) fail('e2e test host: --dry-run is not emulated');
  const [sub, ...rest] = positional;
  if (pick(global, '-v', '--version') || sub === 'version') return cmdComposeVersion(rest);
  if (!sub) fail('Usage:  docker compose [OPTIONS] COMMAND');
  const project = loadProject(global);
  switch (sub) {
    case 'config':
      return cmdConfig(project, rest);
    case 'build':
      return cmdBuild(project, rest);
    case 'up':
      return cmdUp(project, rest);
    case 'ps':
      return cmdPs(project, rest);
    case 'logs':
      return cmdLogs(project, rest);
    case 'exec':
      return cmdExec(project, rest);
    case 'run':
      return cmdRun(project, rest);
    case 'restart':
    case 'stop':
    case 'start':
    case 'down':
      return cmdLifecycle(project, rest, sub);
    default:
      fail(`unknown docker command: "compose ${sub}"`);
  }
}

// ---------- plain docker ----------
function findContainer(ref) {
  const all = listContainers();
  return all.find((c) => c.name === ref || c.config.Id === ref || (ref.length >= 4 && c.config.Id.startsWith(ref)));
}

function inspectContainer(c) {
  const s = c.state;
  const ports = {};
  for (const p of c.config.Publishers ?? []) {
    (ports[`${p.TargetPort}/${p.Protocol}`] ??= []).push({ HostIp: p.URL, HostPort: String(p.PublishedPort) });
  }
  return {
    Id: c.config.Id,
    Created: dockerTime(c.config.CreatedMs),
    Path: '/entrypoint.sh',
    Args: [],
    State: {
      Status: s.Status,
      Running: s.Status === 'running' || s.Status === 'restarting',
      Paused: false,
      Restarting: s.Status === 'restarting',
      OOMKilled: false,
      Dead: false,
      Pid: s.Pid ?? 0,
      ExitCode: s.ExitCode ?? 0,
      Error: s.Error ?? '',
      StartedAt: dockerTime(s.StartedAtMs),
      FinishedAt: dockerTime(s.FinishedAtMs),
    },
    Image: c.config.ImageId,
    Name: `/${c.name}`,
    RestartCount: s.RestartCount ?? 0,
    Config: {
      Hostname: c.config.Id.slice(0, 12),
      Env: Object.entries(c.config.Env).map(([k, v]) => `${k}=${v}`),
      Image: c.config.Image,
      Entrypoint: c.config.Entrypoint,
      Labels: labelsOf(c),
    },
    HostConfig: { RestartPolicy: { Name: c.config.RestartPolicy, MaximumRetryCount: 0 }, PortBindings: ports },
    NetworkSettings: { Ports: ports },
  };
}

async function docker(args) {
  const { flags: global, positional } = parseFlags(
    args,
    { bool: ['-v', '--version', '-D', '--debug'], value: ['-H', '--host', '--context', '-c', '-l', '--log-level', '--config'] },
    { stopAtPositional: true },
  );
  if (pick(global, '-v', '--version')) return out(`Docker version ${hostConfig().dockerVersion}, build ce12230\n`);
  const [cmd, ...rest] = positional;
  switch (cmd) {
    case 'compose':
      return compose(rest);
    case '__nginx': {
      // The `nginx` seen by commands run inside a container (see runInContainer's shim).
      const [name, ...nginxArgs] = rest;
      const c = loadContainer(name) ?? fail(`No such container: ${name}`);
      return runInContainer(c, ['nginx', ...nginxArgs]);
    }
    case 'version':
      return out(`Client: Docker Engine - Community\n Version:           ${hostConfig().dockerVersion}\n\nServer: Docker Engine - Community\n Engine:\n  Version:          ${hostConfig().dockerVersion}\n`);
    case 'exec': {
      const { flags, positional: p } = execFlags(rest);
      const [ref, ...cmd] = p;
      if (!ref) fail('"docker exec" requires at least 2 arguments.');
      const c = findContainer(ref) ?? fail(`Error response from daemon: No such container: ${ref}`);
      requireRunning(c, false);
      return runInContainer(c, cmd, { env: envFlags(flags), workdir: pick(flags, '-w', '--workdir') });
    }
    case 'inspect': {
      const { flags, positional: refs } = parseFlags(rest, { bool: ['-s', '--size'], value: ['-f', '--format', '--type'] });
      const found = [];
      let code = 0;
      for (const ref of refs) {
        const c = findContainer(ref);
        if (c) found.push(inspectContainer(c));
        else {
          err(`Error: No such object: ${ref}\n`);
          code = 1;
        }
      }
      const format = pick(flags, '-f', '--format');
      if (format) out(found.map((o) => goTemplate(format, o) + '\n').join(''));
      else out(JSON.stringify(found, null, 4) + '\n');
      return code;
    }
    case 'logs': {
      const { flags, positional: p } = parseFlags(rest, { bool: ['-t', '--timestamps', '-f', '--follow', '--details'], value: ['--tail', '-n', '--since', '--until'] });
      const c = findContainer(p[0] ?? '') ?? fail(`Error response from daemon: No such container: ${p[0] ?? ''}`);
      let entries = readLog(c.name);
      const tail = pick(flags, '--tail', '-n');
      if (tail !== undefined && tail !== 'all') entries = entries.slice(Math.max(0, entries.length - Number(tail)));
      for (const e of entries) (e.stream === 'stderr' ? err : out)(`${pick(flags, '-t', '--timestamps') ? dockerTime(e.time) + ' ' : ''}${e.log}\n`);
      return;
    }
    case 'ps': {
      const { flags } = parseFlags(rest, { bool: ['-a', '--all', '-q', '--quiet', '--no-trunc', '-s', '--size'], value: ['--format', '-n', '--last'], multi: ['-f', '--filter'] });
      const now = Date.now();
      const filters = [...(flags['-f'] ?? []), ...(flags['--filter'] ?? [])].map((f) => f.split('='));
      const list = listContainers().filter(
        (c) =>
          (pick(flags, '-a', '--all') || c.state.Status === 'running' || c.state.Status === 'restarting') &&
          filters.every(([k, v]) => (k === 'name' ? c.name.includes(v) : k === 'status' ? c.state.Status === v : true)),
      );
      if (pick(flags, '-q', '--quiet')) return out(list.map((c) => c.config.Id.slice(0, 12) + '\n').join(''));
      const rows = list.map((c) => ({
        ID: c.config.Id.slice(0, 12),
        Image: c.config.Image,
        Command: '"/entrypoint.sh"',
        RunningFor: `${humanDuration(now - c.config.CreatedMs)} ago`,
        Status: statusString(c.state, now),
        Ports: portsText(c.config.Publishers ?? []),
        Names: c.name,
        State: c.state.Status,
      }));
      const format = flags['--format'] ?? 'table';
      if (format === 'json') return out(rows.map((r) => JSON.stringify(r) + '\n').join(''));
      if (format === 'table') {
        return out(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names])));
      }
      return out(rows.map((r) => goTemplate(format.replace(/^table\s+/, ''), r) + '\n').join(''));
    }
    case undefined:
      fail('Usage:  docker [OPTIONS] COMMAND');
      return;
    default:
      fail(`docker: '${cmd}' is not a docker command.\nSee 'docker --help'`);
  }
}

// Every invocation is recorded, so tests can see what the tool ran on the host.
function record(entry) {
  try {
    mkdirSync(PATHS.root, { recursive: true });
    appendFileSync(PATHS.calls, JSON.stringify(entry) + '\n');
  } catch {}
}

const argv = process.argv.slice(2);
const started = Date.now();
const internal = argv[0] === '__nginx';
let exitCode = 0;
try {
  const code = await docker(argv);
  exitCode = typeof code === 'number' ? code : 0;
} catch (error) {
  if (error instanceof Exit) {
    if (error.message) err(error.message + '\n');
    exitCode = error.code;
  } else {
    err(`e2e test host: docker emulator failed: ${error?.stack ?? error}\n`);
    exitCode = 125;
  }
}
if (!internal) record({ time: started, argv, cwd: process.cwd(), exitCode, ms: Date.now() - started });
process.exitCode = exitCode;
