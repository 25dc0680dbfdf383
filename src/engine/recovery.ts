// When the tool cannot put the host back, it prints the exact commands an operator would type.
import { composeCommands } from '../compose/commands.js';
import { shellJoin } from '../shell/quote.js';
import type { RunContext } from './context.js';

/** Commands that restore the template (when a backup is known), rebuild, recreate and show the state. */
export function recoveryCommands(ctx: RunContext): string[] {
  const { options, paths, target } = ctx;
  const written = ctx.journal.get('template-written');
  const restore = written
    ? [`${shellJoin(['cp', '-p', '--', written.backup, paths.template])}   # ${written.backup.name} holds the config from before this run`]
    : [];
  return [
    `ssh -p ${options.port} ${shellJoin([`${options.user}@${options.host}`])}`,
    ...restore,
    composeCommands.build(target),
    composeCommands.up(target, true),
    composeCommands.ps(target).replace(' --format json', ''),
  ];
}
