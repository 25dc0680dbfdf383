import { buildProgress } from './build-output.js';
import { selectServices, type ComposeContext } from './context.js';
import { parseFlags } from './flags.js';

const FLAGS = [
  { long: 'no-cache' },
  { long: 'pull' },
  { long: 'quiet', short: 'q' },
  { long: 'build-arg', value: true },
  { long: 'progress', value: true },
  { long: 'with-dependencies' },
];

// docker compose build [SERVICE...]: snapshot each service's template into an image.
export async function composeBuild(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  const services = selectServices(ctx, flags.positionals);
  return ctx.emulator.exclusive(async () => {
    for (const service of services) {
      if (!service.build) continue;
      const code = buildService(ctx, service.name, flags.has('quiet'));
      if (code !== 0) return code;
    }
    return 0;
  });
}

// Builds one service, printing BuildKit's progress; shared with `up --build` and `up` of a missing image.
export function buildService(ctx: ComposeContext, name: string, quiet = false): number {
  const service = ctx.project.services.get(name);
  if (!service?.build) return 0;
  const result = ctx.emulator.buildImage(ctx.project, service, ctx.emulator.now());
  const progress = buildProgress(name, service.build.dockerfile, ctx.emulator.imageRef(ctx.project, service), result);
  // Compose 2.26 without a terminal: BuildKit's progress on stdout; a failure's `failed to solve: …` on
  // stderr, exit 17.
  if (!result.ok) {
    const cut = progress.lastIndexOf('failed to solve: ');
    ctx.io.out(progress.slice(0, cut));
    ctx.io.err(progress.slice(cut));
    return 17;
  }
  if (!quiet) ctx.io.out(progress);
  return 0;
}
