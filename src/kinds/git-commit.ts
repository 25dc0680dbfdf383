// Commit the changed files in the host's git repository once every check passed (--commit). Not undone: it runs
// only after the checks, and a failed commit leaves the verified change in place.
import { StepError } from '../errors.js';
import { RemotePath, shellJoin } from '../shell/quote.js';
import { firstLine, succeeded } from '../transport/transport.js';
import type { Step } from '../core/types.js';

export function gitCommit(options: { dir: RemotePath; files: readonly string[]; message: (action: string, runId: string) => string; id?: string; title?: string }): Step {
  const id = options.id ?? 'commit';
  const files = shellJoin([...options.files]);
  return {
    id,
    title: options.title ?? 'Commit the change in the host\'s git repository',
    kind: 'git-commit',
    condition: 'only with --commit, and only once every check passed',
    plan(ctx) {
      if (!ctx.options.commit) return { kind: 'noop', reason: 'not asked (--commit commits the change in the host\'s git repository)' };
      return { kind: 'change', summary: `git commit ${options.files.join(' ')} once the checks pass`, commands: [], data: null };
    },
    async apply(ctx) {
      const message = options.message(ctx.options.action, ctx.runId);
      // The host's own git identity when it has one, else one that names the tool. An untracked file counts as a change.
      const command =
        `${shellJoin(['cd', '--', options.dir])} && ` +
        `if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then echo 'not a git repository'; exit 0; fi && ` +
        `if [ -z "$(git status --porcelain -- ${files} 2>/dev/null)" ]; then echo 'nothing to commit'; exit 0; fi && ` +
        `git add -- ${files} && ` +
        `if git config user.email >/dev/null; then set --; else set -- -c user.name=apply-ws-fix -c user.email=apply-ws-fix@localhost; fi && ` +
        `git "$@" commit -q -m ${shellJoin([message])} -- ${files} && git log -1 --format='committed %h' -- ${files}`;
      const result = await ctx.exec(command);
      if (!succeeded(result)) throw new StepError(id, `git commit failed: ${firstLine(result)}`, `Commit by hand: cd ${options.dir.path} && git add -- ${files} && git commit -- ${files}`);
      const said = result.stdout.toString('utf8').trim().split('\n').at(-1) ?? '';
      if (said === 'not a git repository') return `${options.dir.path} is not a git repository: nothing committed`;
      if (said === 'nothing to commit') return 'the change is already committed as it is';
      return `${said}: "${message}"`;
    },
  };
}
