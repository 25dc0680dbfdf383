import { randomBytes } from 'node:crypto';
import { execInContainer, viewOf } from './container-exec.js';
import { selectServices, type ComposeContext } from './context.js';
import { parseFlags } from './flags.js';
import { ComposeError } from './project.js';

const EXEC_FLAGS = [
  { long: 'no-TTY', short: 'T' },
  { long: 'detach', short: 'd' },
  { long: 'interactive', short: 'i' },
  { long: 'tty', short: 't' },
  { long: 'user', short: 'u', value: true },
  { long: 'workdir', short: 'w', value: true },
  { long: 'env', short: 'e', value: true },
  { long: 'index', value: true },
  { long: 'privileged' },
];

const RUN_FLAGS = [...EXEC_FLAGS, { long: 'rm' }, { long: 'no-deps' }, { long: 'entrypoint', value: true }, { long: 'name', value: true }, { long: 'build' }];

// docker compose exec -T SERVICE CMD...: only into a running container.
export async function composeExec(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, EXEC_FLAGS, false);
  const [serviceName, ...command] = flags.positionals;
  if (serviceName === undefined || command.length === 0) throw new ComposeError('"docker compose exec" requires at least 2 arguments.');
  selectServices(ctx, [serviceName]);
  const container = ctx.emulator.containerOf(ctx.project.name, serviceName);
  if (!container || ctx.emulator.status(container).state !== 'running') {
    throw new ComposeError(`service "${serviceName}" is not running`);
  }
  const view = viewOf(ctx.emulator, container);
  view.env = [...view.env, ...flags.values('env').map((e) => splitEnv(e))];
  return execInContainer(ctx.emulator, view, command, ctx.io);
}

// docker compose run --rm --no-deps -T SERVICE CMD...: a throwaway container from the current image;
// the running one is not touched.
export async function composeRun(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, RUN_FLAGS, false);
  const [serviceName, ...command] = flags.positionals;
  if (serviceName === undefined) throw new ComposeError('"docker compose run" requires at least 1 argument.');
  const [service] = selectServices(ctx, [serviceName]);
  if (!service) return 1;
  if (command.length === 0) {
    throw new ComposeError('fake host: `run` without a command starts nginx in the foreground and never returns; give one, e.g. `nginx -t`');
  }
  const { emulator } = ctx;
  let image = emulator.images.get(emulator.imageRef(ctx.project, service));
  if (!image) {
    const built = emulator.buildImage(ctx.project, service, emulator.now());
    if (!built.ok) {
      ctx.io.err(`failed to solve: ${built.error}\n`);
      return 1;
    }
    image = built.image;
  }
  const throwaway = { id: randomBytes(32).toString('hex'), env: [...service.environment, ...flags.values('env').map(splitEnv)] };
  const rendered = Buffer.from(emulator.render(image, throwaway), 'latin1');
  return execInContainer(emulator, { image, renderedBytes: rendered, env: emulator.containerEnv(throwaway) }, command, ctx.io);
}

// -e KEY=VALUE (a bare KEY takes an empty value here).
function splitEnv(text: string): [string, string] {
  const eq = text.indexOf('=');
  return eq === -1 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
}
