import { buildService } from './cmd-build.js';
import { event, selectServices, type ComposeContext } from './context.js';
import type { Container } from './container.js';
import { parseFlags } from './flags.js';
import type { ServiceDef } from './project.js';
import { ComposeError } from './project.js';

const FLAGS = [
  { long: 'detach', short: 'd' },
  { long: 'force-recreate' },
  { long: 'no-recreate' },
  { long: 'no-deps' },
  { long: 'build' },
  { long: 'no-build' },
  { long: 'remove-orphans' },
  { long: 'quiet-pull' },
  { long: 'wait' },
  { long: 'wait-timeout', value: true },
  { long: 'pull', value: true },
  { long: 'timeout', short: 't', value: true },
  { long: 'no-start' },
  { long: 'renew-anon-volumes', short: 'V' },
];

const DAEMON_ERROR =
  'Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: cannot allocate memory: unknown\n';

// docker compose up -d [--force-recreate] [SERVICE...]: recreate what changed, leave the rest Running.
export async function composeUp(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  if (!flags.has('detach')) {
    throw new ComposeError('fake host: `up` without -d attaches to the logs and never returns; use `up -d`');
  }
  const services = selectServices(ctx, flags.positionals);
  return ctx.emulator.exclusive(async () => {
    for (const service of services) {
      const code = await upService(ctx, service, {
        force: flags.has('force-recreate'),
        noRecreate: flags.has('no-recreate'),
        build: flags.has('build'),
        noBuild: flags.has('no-build'),
        wait: flags.has('wait'),
      });
      if (code !== 0) return code;
    }
    return 0;
  });
}

interface UpOptions {
  force: boolean;
  noRecreate: boolean;
  build: boolean;
  noBuild: boolean;
  wait: boolean;
}

// One service: build if asked or missing, then create, recreate, start or just report Running.
async function upService(ctx: ComposeContext, service: ServiceDef, options: UpOptions): Promise<number> {
  const { emulator } = ctx;
  const ref = emulator.imageRef(ctx.project, service);
  if (service.build && (options.build || (!emulator.images.has(ref) && !options.noBuild))) {
    const code = buildService(ctx, service.name);
    if (code !== 0) return code;
  }
  let target = emulator.images.get(ref);
  if (!target) {
    const built = emulator.buildImage(ctx.project, service, emulator.now());
    if (!built.ok) return fail(ctx, `failed to solve: ${built.error}\n`);
    target = built.image;
  }

  const current = emulator.containerOf(ctx.project.name, service.name);
  const name = service.containerName;
  const changed = current !== undefined && (current.image.id !== target.id || current.configHash !== service.configHash);
  const mode = !current ? 'create' : (options.force || changed) && !options.noRecreate ? 'recreate' : current.stoppedAt !== undefined ? 'start' : 'running';

  if (mode === 'running') {
    event(ctx, name, 'Running');
    return 0;
  }
  const faults = emulator.options.faults;
  if (mode === 'create') event(ctx, name, 'Creating');
  if (mode === 'recreate') event(ctx, name, 'Recreate');
  if (faults.has('up-fails')) return fail(ctx, DAEMON_ERROR);

  let container: Container;
  if (mode === 'start' && current) {
    container = current;
    event(ctx, name, 'Starting');
    if (faults.has('slow-start')) await emulator.sleep(emulator.options.slowStartMs);
    emulator.start(container, emulator.now());
  } else {
    if (current) emulator.stop(current, emulator.now(), 0);
    event(ctx, name, mode === 'create' ? 'Created' : 'Recreated');
    event(ctx, name, 'Starting');
    if (faults.has('slow-start')) await emulator.sleep(emulator.options.slowStartMs);
    const recreations = current ? current.recreations + 1 : 0;
    container = emulator.createContainer(ctx.project, service, target, recreations, emulator.now());
  }
  event(ctx, name, 'Started');
  if (options.wait) return waitHealthy(ctx, container);
  return 0;
}

// --wait: a crash-looping container fails the wait once the crash window has passed.
async function waitHealthy(ctx: ComposeContext, container: Container): Promise<number> {
  event(ctx, container.name, 'Waiting');
  if (container.crash === undefined) {
    event(ctx, container.name, 'Healthy');
    return 0;
  }
  await ctx.emulator.sleep(ctx.emulator.options.crashWindowMs);
  ctx.io.err(`container ${container.name} is unhealthy\n`);
  return 1;
}

// Errors end the command with exit 1, as Compose does.
function fail(ctx: ComposeContext, message: string): number {
  ctx.io.err(message);
  return 1;
}
