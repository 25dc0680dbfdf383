import { selectServices, type ComposeContext } from './context.js';
import { commandCell, type Container } from './container.js';
import { goTimeString, humanDuration } from './docker-time.js';
import { parseFlags } from './flags.js';
import { ComposeError } from './project.js';
import { formatTable } from './table.js';
import { renderTemplate } from './go-template.js';

const FLAGS = [
  { long: 'all', short: 'a' },
  { long: 'format', value: true },
  { long: 'quiet', short: 'q' },
  { long: 'services' },
  { long: 'status', value: true },
  { long: 'filter', value: true },
  { long: 'no-trunc' },
  { long: 'orphans' },
];

// docker compose ps: the table, NDJSON (Compose >= 2.21) or one JSON array (older), exited ones only with -a.
export async function composePs(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  const wanted = flags.positionals.length > 0 ? new Set(selectServices(ctx, flags.positionals).map((s) => s.name)) : undefined;
  const statuses = flags.values('status');
  const rows = [...ctx.emulator.containers.values()]
    .filter((c) => c.project === ctx.project.name && (!wanted || wanted.has(c.service)))
    .map((c) => ({ c, s: ctx.emulator.status(c) }))
    .filter(({ s }) => (statuses.length > 0 ? statuses.includes(s.state) : flags.has('all') || s.state !== 'exited'))
    .sort((a, b) => a.c.name.localeCompare(b.c.name));

  if (flags.has('quiet')) {
    for (const { c } of rows) ctx.io.out(`${c.id}\n`);
    return 0;
  }
  if (flags.has('services')) {
    for (const { c } of rows) ctx.io.out(`${c.service}\n`);
    return 0;
  }
  const format = flags.value('format') ?? 'table';
  const now = ctx.emulator.now();
  if (format === 'json') {
    const objects = rows.map(({ c, s }) => psObject(c, s.state, s.status, s.exitCode, now));
    if (ctx.emulator.options.composeJson === 'array') ctx.io.out(`${JSON.stringify(objects)}\n`);
    else for (const o of objects) ctx.io.out(`${JSON.stringify(o)}\n`);
    return 0;
  }
  if (format.includes('{{')) {
    if (format.startsWith('table ')) throw new ComposeError('fake host: `--format "table ..."` templates are not emulated; use json or a plain template');
    for (const { c, s } of rows) {
      const line = renderTemplate(format, psObject(c, s.state, s.status, s.exitCode, now));
      if (line === undefined) throw new ComposeError(`template: fake host: only {{.Field}} and {{json .}} are emulated`);
      ctx.io.out(`${line}\n`);
    }
    return 0;
  }
  if (format !== 'table') throw new ComposeError(`fake host: --format ${format} is not emulated (use table or json)`);
  const table = [['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS']];
  for (const { c, s } of rows) {
    table.push([c.name, c.image.ref, commandCell(flags.has('no-trunc'), c.entryPath), c.service, `${humanDuration(now - c.createdAt)} ago`, s.status, '80/tcp']);
  }
  ctx.io.out(formatTable(table));
  return 0;
}

// The keys Compose's JSON has, in its (alphabetical) order.
function psObject(c: Container, state: string, status: string, exitCode: number, now: number): Record<string, unknown> {
  return {
    Command: commandCell(true, c.entryPath),
    CreatedAt: goTimeString(c.createdAt),
    // Compose fills ExitCode for an exited container only: a restarting one says 0 (its code is in Status).
    ExitCode: state === 'exited' ? exitCode : 0,
    Health: '',
    ID: c.id,
    Image: c.image.ref,
    Labels: `com.docker.compose.project=${c.project},com.docker.compose.service=${c.service},com.docker.compose.container-number=1,com.docker.compose.oneoff=False,com.docker.compose.version=2.26.1`,
    LocalVolumes: '0',
    Mounts: '',
    Name: c.name,
    Names: c.name,
    Networks: `${c.project}_default`,
    Ports: '80/tcp',
    Project: c.project,
    Publishers: [{ URL: '', TargetPort: 80, PublishedPort: 0, Protocol: 'tcp' }],
    RunningFor: `${humanDuration(now - c.createdAt)} ago`,
    Service: c.service,
    Size: '0B',
    State: state,
    Status: status,
  };
}
