import type { Container } from './container.js';
import { event, selectServices, type ComposeContext } from './context.js';
import { parseFlags } from './flags.js';

const FLAGS = [{ long: 'timeout', short: 't', value: true }, { long: 'no-deps' }];

// The containers of the services named (every service when none is), one at a time under the emulator's lock.
function eachContainer(ctx: ComposeContext, act: (container: Container) => Promise<void>): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  const services = flags.positionals.length > 0 ? selectServices(ctx, flags.positionals) : [...ctx.project.services.values()];
  return ctx.emulator.exclusive(async () => {
    for (const service of services) {
      const container = ctx.emulator.containerOf(ctx.project.name, service.name);
      if (container) await act(container);
    }
    return 0;
  });
}

// docker compose restart [SERVICE...]: same container, entrypoint re-run (so the config is re-rendered).
export async function composeRestart(ctx: ComposeContext): Promise<number> {
  return eachContainer(ctx, async (container) => {
    event(ctx, container.name, 'Restarting');
    if (ctx.emulator.options.faults.has('slow-start')) await ctx.emulator.sleep(ctx.emulator.options.slowStartMs);
    ctx.emulator.start(container, ctx.emulator.now());
    event(ctx, container.name, 'Started');
  });
}

// docker compose stop [SERVICE...]: the container stays, Exited (0), its logs kept (as Docker's SIGTERM to nginx).
export async function composeStop(ctx: ComposeContext): Promise<number> {
  return eachContainer(ctx, async (container) => {
    event(ctx, container.name, 'Stopping');
    if (container.stoppedAt === undefined) ctx.emulator.stop(container, ctx.emulator.now());
    event(ctx, container.name, 'Stopped');
  });
}
