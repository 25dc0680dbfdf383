import { selectServices, type ComposeContext } from './context.js';
import { parseSince, rfc3339Nano } from './docker-time.js';
import { parseFlags } from './flags.js';
import { ComposeError } from './project.js';

const FLAGS = [
  { long: 'no-color' },
  { long: 'timestamps', short: 't' },
  { long: 'tail', short: 'n', value: true },
  { long: 'follow', short: 'f' },
  { long: 'since', value: true },
  { long: 'until', value: true },
  { long: 'no-log-prefix' },
  { long: 'index', value: true },
];

// docker compose logs: "ESC[2K<service>-1  | line" on stdout (what the container wrote on stderr too), per container, --tail per container.
export async function composeLogs(ctx: ComposeContext): Promise<number> {
  const flags = parseFlags(ctx.args, FLAGS, true);
  if (flags.has('follow')) {
    throw new ComposeError('fake host: `logs -f` never returns on a real host either; use `logs --tail N`');
  }
  const tailText = flags.value('tail') ?? 'all';
  const tail = tailText === 'all' || tailText === '-1' ? undefined : Number(tailText);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
    throw new ComposeError(`invalid argument "${tailText}" for "-n, --tail" flag: strconv.Atoi: parsing "${tailText}": invalid syntax`);
  }
  const now = ctx.emulator.now();
  const since = flags.value('since') !== undefined ? parseSince(flags.value('since') ?? '', now) : undefined;
  const until = flags.value('until') !== undefined ? parseSince(flags.value('until') ?? '', now) : undefined;
  const wanted = flags.positionals.length > 0 ? new Set(selectServices(ctx, flags.positionals).map((s) => s.name)) : undefined;
  const containers = [...ctx.emulator.containers.values()].filter(
    (c) => c.project === ctx.project.name && (!wanted || wanted.has(c.service)),
  );
  const width = Math.max(0, ...containers.map((c) => `${c.service}-1`.length)) + 1;
  const lines: Array<{ at: number; text: string }> = [];
  for (const c of containers) {
    let entries = ctx.emulator.logs(c).filter((e) => (since === undefined || e.at >= since) && (until === undefined || e.at <= until));
    if (tail !== undefined) entries = tail === 0 ? [] : entries.slice(-tail);
    const prefix = flags.has('no-log-prefix') ? '' : `${`${c.service}-1`.padEnd(width)} | `;
    for (const e of entries) {
      const stamp = flags.has('timestamps') ? `${rfc3339Nano(e.at)} ` : '';
      // Compose 2.26 starts every line with the erase-line sequence, even with --no-color and no terminal.
      lines.push({ at: e.at, text: `\x1b[2K${prefix}${stamp}${e.text}\n` });
    }
  }
  lines.sort((a, b) => a.at - b.at);
  ctx.io.out(lines.map((l) => l.text).join(''));
  return 0;
}
