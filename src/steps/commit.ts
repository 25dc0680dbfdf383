// The seed's closing note: commit the template change in the host's git repository (--commit), after the checks.
import { defineStep } from '../engine/step.js';
import { StepError } from '../errors.js';
import { shellJoin } from '../shell/quote.js';
import { firstLine, succeeded } from '../transport/transport.js';

export const commitStep = defineStep<object>({
  id: 'commit',
  title: 'Commit the template in the host\'s git repository',
  plan(ctx) {
    if (!ctx.options.commit) return { kind: 'noop', reason: 'not asked (--commit commits the change in the host\'s git repository)' };
    return { kind: 'change', summary: `git commit ${ctx.runbook.templatePath(ctx.options.service)} once the checks pass` };
  },
  async apply(ctx) {
    const { paths, options, runbook, runId } = ctx;
    const file = runbook.templatePath(options.service);
    const verb = options.action === 'rollback' ? 'roll back' : 'apply';
    const message = `apply-ws-fix: ${verb} ${runbook.title} (run ${runId})`;
    // The host's own git identity when it has one, else one that names the tool.
    const command =
      `${shellJoin(['cd', '--', paths.dir])} && ` +
      `if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then echo 'not a git repository'; exit 0; fi && ` +
      `if git diff --quiet HEAD -- ${shellJoin([file])} 2>/dev/null; then echo 'nothing to commit'; exit 0; fi && ` +
      `if git config user.email >/dev/null; then set --; else set -- -c user.name=apply-ws-fix -c user.email=apply-ws-fix@localhost; fi && ` +
      `git "$@" commit -q -m ${shellJoin([message])} -- ${shellJoin([file])} && git log -1 --format='committed %h' -- ${shellJoin([file])}`;
    const result = await ctx.exec(command);
    if (!succeeded(result)) throw new StepError('commit', `git commit failed: ${firstLine(result)}`, `Commit by hand: cd ${options.dir} && git commit -- ${file}`);
    const said = result.stdout.toString('utf8').trim().split('\n').at(-1) ?? '';
    if (said === 'not a git repository') return `${options.dir} is not a git repository: nothing committed`;
    if (said === 'nothing to commit') return 'the template is already committed as it is';
    return `${said}: "${message}"`;
  },
});
