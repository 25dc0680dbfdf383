import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { FaultName } from '../faults.js';
import { accessLine, emergLines, startupLines, workerEmergLine } from '../nginx/log-lines.js';
import { envsubst } from '../../lib/envsubst.js';
import { checkNginxConfig } from '../nginx/validate.js';
import { statusAt, type Container, type ContainerStatus, type Image, type LogEntry } from './container.js';
import { loadProject, type ComposeProject, type ProjectSelection, type ServiceDef } from './project.js';
import { STOCK_NGINX_CONF } from './stock-nginx.js';

export interface EmulatorOptions {
  faults: Set<FaultName>;
  crashWindowMs: number;
  slowStartMs: number;
  composeJson: 'ndjson' | 'array';
  proxyContainer: string; // the container whose config the public URL follows
  /** The upstream origins (tunnels) that answer; the proxy's proxy_pass must name one of them. */
  upstreams: Set<string>;
  /** Every time the emulator reads or waits on: the crash window, the crash loop, slow starts, log times. */
  clock: Clock;
}

export type BuildResult =
  | { ok: true; image: Image; cached: boolean; dockerfile?: string }
  | { ok: false; error: string; atStep: 'dockerfile' | 'template'; dockerfile?: string };

// Image env of nginx:1.27-alpine, which every container of the stack inherits.
export const IMAGE_ENV: ReadonlyArray<[string, string]> = [
  ['NGINX_VERSION', '1.27.2'],
  ['PKG_RELEASE', '1'],
  ['DYNPKG_RELEASE', '1'],
  ['NJS_VERSION', '0.8.6'],
  ['NJS_RELEASE', '1'],
];
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// The Docker daemon and Compose state of the fake host, in memory so tests can look and faults can bite.
export class ComposeEmulator {
  readonly images = new Map<string, Image>();
  readonly containers = new Map<string, Container>();
  private queue: Promise<unknown> = Promise.resolve();
  // each service's config at its first start: what fault crash-on-start spares
  private readonly originalConfigs = new Map<string, string>();

  constructor(readonly options: EmulatorOptions) {}

  // One clock for the whole emulator, replaceable in tests.
  now(): number {
    return this.options.clock.now();
  }

  // A wait on that clock (slow starts, `up --wait`), so a test's manual clock decides when it ends.
  sleep(ms: number): Promise<void> {
    return this.options.clock.sleep(ms);
  }

  // Changes run one at a time, as the daemon serialises operations on one container.
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // The compose project seen from a working directory (throws ComposeError like Compose's messages).
  project(pwd: string, selection: ProjectSelection): ComposeProject {
    return loadProject(pwd, selection);
  }

  // A service's image name: its `image:` or "<project>-<service>" for a built one.
  imageRef(project: ComposeProject, service: ServiceDef): string {
    return service.image ?? `${project.name}-${service.name}`;
  }

  // The current container of a service, if it has one.
  containerOf(project: string, service: string): Container | undefined {
    return [...this.containers.values()].find((c) => c.project === project && c.service === service);
  }

  // A service's template path, by the stack's convention.
  templatePath(project: ComposeProject, service: string): string {
    return join(project.dir, 'proxy-configs', `${service}.conf.template`);
  }

  // Reads the build inputs; the image id is their content hash, so an unchanged build gives the same id.
  buildImage(project: ComposeProject, service: ServiceDef, at: number): BuildResult {
    if (!service.build) return { ok: true, image: this.stockImage(this.imageRef(project, service), at), cached: true };
    if (this.options.faults.has('build-fails')) {
      return {
        ok: false,
        atStep: 'template',
        ...dockerfileText(service),
        error: 'failed to copy files: userspace copy failed: write /var/lib/docker/overlay2/l/UJ3KXQ2R7TQ5S2JH/diff/etc/nginx/templates/ocapistaine.conf.template: no space left on device',
      };
    }
    const dockerfile = readIfExists(service.build.dockerfile);
    if (!dockerfile) {
      return { ok: false, atStep: 'dockerfile', error: `failed to read dockerfile: open ${service.build.dockerfile}: no such file or directory` };
    }
    const templateFile = this.templatePath(project, service.name);
    const template = readIfExists(templateFile);
    const relativeTemplate = `proxy-configs/${service.name}.conf.template`;
    if (!template) {
      return {
        ok: false,
        atStep: 'template',
        dockerfile: dockerfile.toString('utf8'),
        error: `failed to compute cache key: failed to calculate checksum of ref 4f0ab5d2-7d8c-4a0e-9b2c-3c5d2f1e0a77::kq1x3r7m2b9w: "/${relativeTemplate}": not found`,
      };
    }
    const entrypoint = readIfExists(join(service.build.context, 'proxy-configs', 'entrypoint.sh'));
    const hash = createHash('sha256').update(dockerfile).update('\0').update(template).update('\0');
    if (entrypoint) hash.update(entrypoint);
    const id = `sha256:${hash.digest('hex')}`;
    const ref = this.imageRef(project, service);
    const previous = this.images.get(ref);
    const cached = previous?.id === id;
    const image: Image = cached && previous ? previous : { id, ref, createdAt: at, template, ...(entrypoint ? { entrypoint } : {}) };
    this.images.set(ref, image);
    return { ok: true, image, cached, dockerfile: dockerfile.toString('utf8') };
  }

  // A pulled image (no template): stock nginx.
  private stockImage(ref: string, at: number): Image {
    const existing = this.images.get(ref);
    if (existing) return existing;
    const image: Image = { id: `sha256:${createHash('sha256').update(ref).digest('hex')}`, ref, createdAt: at };
    this.images.set(ref, image);
    return image;
  }

  // docker create + start: a new id, the service's env, the image's template rendered and checked.
  createContainer(project: ComposeProject, service: ServiceDef, image: Image, recreations: number, at: number): Container {
    const container: Container = {
      id: randomBytes(32).toString('hex'),
      name: service.containerName,
      project: project.name,
      projectDir: project.dir,
      service: service.name,
      entryPath: image.template ? '/entrypoint.sh' : '/docker-entrypoint.sh',
      image,
      configHash: service.configHash,
      env: service.environment,
      createdAt: at,
      startedAt: at,
      exitCode: 0,
      recreations,
      renderedBytes: Buffer.alloc(0),
      check: { ok: true, tree: [] },
      logs: [],
    };
    this.start(container, at);
    this.containers.set(container.name, container);
    return container;
  }

  // Every start re-runs the entrypoint: render the template, let nginx check it, log what nginx says.
  start(container: Container, at: number): void {
    this.freezeCrashLogs(container, at);
    container.startedAt = at;
    delete container.stoppedAt;
    container.exitCode = 0;
    const rendered = this.render(container.image, container);
    container.renderedBytes = Buffer.from(rendered, 'latin1');
    container.check = container.image.template
      ? checkNginxConfig(rendered, { rejectUpgradeMap: this.options.faults.has('reject-new-config') })
      : { ok: true, tree: [] };
    const key = `${container.project}/${container.service}`;
    if (!this.originalConfigs.has(key)) this.originalConfigs.set(key, rendered);
    const faults = this.options.faults;
    const runtimeCrash =
      faults.has('crash-always') || (faults.has('crash-on-start') && this.originalConfigs.get(key) !== rendered);
    if (!container.check.ok) container.crash = container.check.message;
    else if (runtimeCrash) container.crash = 'bind() to 0.0.0.0:80 failed (98: Address in use)';
    else delete container.crash;
    if (container.crash === undefined) container.logs.push(...startupLines(at, 20 + Math.floor(Math.random() * 10)));
  }

  // The entrypoint's envsubst over the image's template, with its variable list (or none: blank-vars).
  render(image: Image, container: Pick<Container, 'env' | 'id'>): string {
    if (!image.template) return STOCK_NGINX_CONF;
    const env = new Map(this.containerEnv(container).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('latin1')]));
    const list = this.options.faults.has('blank-vars') ? undefined : envsubstList(image.entrypoint);
    return envsubst(image.template.toString('latin1'), env, list);
  }

  // The process environment inside the container, in the order `env` prints it.
  containerEnv(container: Pick<Container, 'env' | 'id'>): Array<[string, string]> {
    return [['PATH', IMAGE_PATH], ['HOSTNAME', container.id.slice(0, 12)], ...container.env, ...IMAGE_ENV, ['HOME', '/root']];
  }

  // docker stop: the container keeps its logs and shows Exited.
  stop(container: Container, at: number, exitCode = 0): void {
    this.freezeCrashLogs(container, at);
    container.stoppedAt = at;
    container.exitCode = exitCode;
  }

  // A crash loop's [emerg] lines are computed lazily; a stop or restart makes them history.
  private freezeCrashLogs(container: Container, at: number): void {
    const crash = container.crash;
    if (crash === undefined || container.stoppedAt !== undefined) return;
    const status = statusAt(container, at, this.options.crashWindowMs);
    for (const start of status.attempts) container.logs.push(...emergLines(start, crash));
  }

  // ps state right now.
  status(container: Container): ContainerStatus {
    return statusAt(container, this.now(), this.options.crashWindowMs);
  }

  // The container's log so far, with one [emerg] pair per crash-loop attempt and the emerg-logs fault.
  logs(container: Container): LogEntry[] {
    const now = this.now();
    const entries = [...container.logs];
    const status = this.status(container);
    const crash = container.crash;
    if (crash !== undefined && container.stoppedAt === undefined) {
      for (const at of status.attempts) entries.push(...emergLines(at, crash));
    }
    if (crash === undefined && status.state === 'running' && this.options.faults.has('emerg-logs')) {
      entries.push(workerEmergLine(container.startedAt + 15, 21));
    }
    return entries.filter((e) => e.at <= now).sort((a, b) => a.at - b.at);
  }

  // The proxy whose live config the public URL follows.
  proxy(): Container | undefined {
    return this.containers.get(this.options.proxyContainer);
  }

  // Whether an upstream URL answers: its origin is a live tunnel, and the upstream-down fault is off.
  upstreamAnswers(url: string | undefined): boolean {
    if (url === undefined || this.options.faults.has('upstream-down')) return false;
    try {
      return this.options.upstreams.has(new URL(url).origin);
    } catch {
      return false;
    }
  }

  // The upstream origins the proxy sent requests to, in order (what the public URL reached), for assertions.
  readonly upstreamHits: string[] = [];

  // The endpoint's requests show up in the proxy's access log, as on the real host.
  recordAccess(method: string, path: string, status: number, userAgent: string): void {
    const proxy = this.proxy();
    if (proxy && proxy.stoppedAt === undefined && proxy.crash === undefined) proxy.logs.push(accessLine(this.now(), method, path, status, userAgent));
  }
}

// The variables named in the entrypoint's `envsubst '...'`; undefined (= all) when it has no list.
function envsubstList(entrypoint: Buffer | undefined): string[] | undefined {
  if (!entrypoint) return ['OCAPISTAINE_TARGET_URL'];
  const match = /envsubst\s+(['"])(.*?)\1/.exec(entrypoint.toString('utf8'));
  if (!match) return undefined;
  return [...(match[2] ?? '').matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1] ?? '');
}

// The Dockerfile's text when it exists, for the progress lines of a failed build.
function dockerfileText(service: ServiceDef): { dockerfile?: string } {
  const bytes = service.build ? readIfExists(service.build.dockerfile) : undefined;
  return bytes ? { dockerfile: bytes.toString('utf8') } : {};
}

// Build inputs that may be missing.
function readIfExists(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}
