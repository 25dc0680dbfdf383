// Step 2: back up the template. Never overwrites a backup: an existing one that differs is kept.
import type { RunContext } from '../engine/context.js';
import { defineStep } from '../engine/step.js';
import { StepError } from '../errors.js';
import { shellJoin } from '../shell/quote.js';
import { firstLine, succeeded } from '../transport/transport.js';

/** The timestamped backup name for a run: sortable, so the newest backup is the last by name. */
export function timestampedBackupName(base: string, runId: string): string {
  return `${base}.${runId.split('-', 1)[0]}`;
}

export const backupStep = defineStep<{ name: string }>({
  id: 'backup',
  title: 'Back up the template',
  keptOnRollback: true,
  plan(ctx) {
    const { facts, desired, paths, runbook } = ctx;
    if (facts.template.equals(desired)) return { kind: 'noop', reason: 'the template already holds the new config: nothing to back up' };
    const existing = facts.backups.find((backup) => backup.content.equals(facts.template));
    if (existing) return { kind: 'noop', reason: `${existing.name} already holds the current template (kept as it is)` };
    const base = paths.templateName + runbook.backupSuffix;
    if (!facts.backups.some((backup) => backup.name === base)) return { kind: 'change', summary: `copy the template to ${base}`, name: base };
    const name = timestampedBackupName(base, ctx.runId);
    return { kind: 'change', summary: `copy the template to ${name} (${base} holds an older config and is kept)`, name };
  },
  async apply(ctx, plan) {
    const { paths } = ctx;
    const tmp = `.${plan.name}.${ctx.runId}.tmp`;
    // cp -p keeps mode and times; ln fails if the backup exists, so no backup is ever overwritten.
    const command = [
      `${shellJoin(['cd', '--', paths.configDir])} && ${shellJoin(['cp', '-p', '--', paths.templateName, tmp])}`,
      `{ ${shellJoin(['ln', '--', tmp, plan.name])}; rc=$?; ${shellJoin(['rm', '-f', '--', tmp])}; [ "$rc" -eq 0 ]; }`,
      shellJoin(['cat', '--', plan.name]),
    ].join(' && ');
    const result = await ctx.exec(command);
    if (!succeeded(result)) throw new StepError('backup', `could not back up the template to ${plan.name}: ${firstLine(result)}`, 'Check free disk space and permissions in the config directory.');
    if (!result.stdout.equals(ctx.facts.template)) {
      throw new StepError('backup', `the template changed on the host after it was read (the backup ${plan.name} holds the newer content); nothing was written`, 'Run again to see the plan for the template as it is now.');
    }
    return `${plan.name} (${result.stdout.length} bytes, identical to the template)`;
  },
});

/** The backup that holds the template as it was read: the one this run makes, or an existing equal one. */
export function backupOfOriginal(ctx: RunContext): string | undefined {
  const plan = backupStep.plan(ctx);
  if (plan.kind === 'change') return plan.name;
  return ctx.facts.backups.find((backup) => backup.content.equals(ctx.facts.template))?.name;
}
