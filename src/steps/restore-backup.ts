// --rollback: put the newest backup back, rebuild and recreate; refuses to overwrite a hand-edited template.
import type { RunContext } from '../engine/context.js';
import { defineStep } from '../engine/step.js';
import { StartError, StepError } from '../errors.js';
import { templateDiff } from '../report/diff.js';
import { firstLine, succeeded } from '../transport/transport.js';
import { atomicWriteCommand } from './atomic-write.js';
import { buildAndUp, servesTemplate } from './deploy.js';
import { catCommand, type BackupFile } from './gather.js';

/**
 * The backup a rollback restores: the one the last successful apply recorded in the host's journal (so a rollback
 * from another machine picks the same), else the newest, which holds the config the last apply replaced.
 */
export function chosenBackup(ctx: RunContext): BackupFile {
  const { journal, backups } = ctx.facts;
  const applied = new Set(journal.filter((e) => e.event === 'end' && e.outcome === 'applied').map((e) => e.runId));
  const recorded = journal.filter((e) => e.event === 'template-written' && applied.has(e.runId)).at(-1);
  const fromJournal = recorded?.event === 'template-written' ? backups.find((b) => b.name === recorded.backup) : undefined;
  const backup = fromJournal ?? backups.at(-1);
  if (backup === undefined) {
    throw new StartError(`there is no backup of the template in ${ctx.paths.configDir}: nothing to roll back to`, 'no-backup', 'A backup is made by apply-ws-fix when it applies the fix; restore by hand from git if needed (git -C <dir> log -- proxy-configs).');
  }
  return backup;
}

export const restoreBackupStep = defineStep<{ backup: BackupFile; diff: string }>({
  id: 'restore-backup',
  title: 'Restore the template from the backup',
  plan(ctx) {
    const backup = chosenBackup(ctx);
    const { template } = ctx.facts;
    if (template.equals(backup.content)) return { kind: 'noop', reason: `the template already equals ${backup.name}` };
    if (!template.equals(ctx.desired)) {
      throw new StartError(
        `the template was changed since the fix was applied (it is neither the fix nor ${backup.name}); refusing to overwrite it`,
        'template-edited',
        `Compare them: diff -u ${backup.path} ${ctx.paths.template}; then restore by hand, or keep the edit.`,
      );
    }
    return { kind: 'change', summary: `put ${backup.name} back over ${ctx.paths.template}`, backup, diff: templateDiff(ctx.paths.template.path, template, backup.content) };
  },
  async apply(ctx, plan) {
    await ctx.journal.record({ kind: 'template-written', backup: plan.backup.path, original: ctx.facts.template });
    const current = await ctx.exec(catCommand(ctx.paths.template));
    if (!succeeded(current) || !current.stdout.equals(ctx.facts.template)) {
      ctx.journal.forget('template-written');
      throw new StepError('restore-backup', 'the template changed on the host after it was read; nothing was written', 'Run again to see the plan for the template as it is now.');
    }
    const result = await ctx.exec(atomicWriteCommand(ctx.paths, ctx.runId), { stdin: plan.backup.content });
    if (!succeeded(result)) throw new StepError('restore-backup', `could not restore the template: ${firstLine(result)}`);
    if (!result.stdout.equals(plan.backup.content)) throw new StepError('restore-backup', `the template read back differs from ${plan.backup.name}`);
    return `${ctx.paths.template} restored byte for byte from ${plan.backup.name}`;
  },
});

export const redeployBackupStep = defineStep<object>({
  id: 'deploy',
  title: 'Rebuild the image and recreate the container',
  plan(ctx) {
    if (restoreBackupStep.plan(ctx).kind === 'change') return { kind: 'change', summary: 'docker compose build, then up -d --force-recreate' };
    if (servesTemplate(ctx, chosenBackup(ctx).content)) return { kind: 'noop', reason: 'the running container already serves the backup\'s config' };
    return { kind: 'change', summary: 'the container does not serve the backup\'s config yet: docker compose build, then up -d --force-recreate' };
  },
  apply: (ctx) => buildAndUp(ctx, true),
});
