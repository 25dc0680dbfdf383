import { isActive, selectServices, type ComposeContext } from './context.js';
import { parseFlags } from './flags.js';
import { ComposeError } from './project.js';

const FLAGS = [
  { long: 'services' },
  { long: 'profiles' },
  { long: 'images' },
  { long: 'quiet', short: 'q' },
  { long: 'format', value: true },
  { long: 'no-interpolate' },
  { long: 'resolve-image-digests' },
];

// docker compose config --services / --profiles / --images / -q. Compose v2 lists only the services
// the active profiles enable: here, without --profile, none (both services have profiles).
export async function composeConfig(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  const named = flags.positionals.length > 0 ? selectServices(ctx, flags.positionals) : undefined;
  const services = named ?? [...ctx.project.services.values()].filter((s) => isActive(s, ctx.profiles));
  if (flags.has('quiet')) return 0;
  if (flags.has('services')) {
    // Compose lists the names sorted, whatever their order in the file.
    ctx.io.out(services.map((s) => s.name).sort().map((name) => `${name}\n`).join(''));
    return 0;
  }
  if (flags.has('profiles')) {
    const profiles = new Set([...ctx.project.services.values()].flatMap((s) => s.profiles));
    ctx.io.out([...profiles].sort().map((p) => `${p}\n`).join(''));
    return 0;
  }
  if (flags.has('images')) {
    ctx.io.out(services.map((s) => `${ctx.emulator.imageRef(ctx.project, s)}\n`).join(''));
    return 0;
  }
  throw new ComposeError('fake host: only `config --services`, `--profiles`, `--images` and `-q` are emulated');
}
