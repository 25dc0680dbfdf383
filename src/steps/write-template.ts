// Step 3: write the new template atomically (temp file in the same directory, then rename), keeping its mode.
import { defineStep } from '../engine/step.js';
import { StepError } from '../errors.js';
import { templateDiff } from '../report/diff.js';
import { firstLine, succeeded } from '../transport/transport.js';
import { atomicWriteCommand, GUARD_FAILED } from './atomic-write.js';
import { backupOfOriginal } from './backup.js';

export const writeTemplateStep = defineStep<{ diff: string; backup: string }>({
  id: 'write-template',
  title: 'Write the new template',
  plan(ctx) {
    const { facts, desired, paths } = ctx;
    if (facts.template.equals(desired)) return { kind: 'noop', reason: 'the template already holds the new config' };
    const backup = backupOfOriginal(ctx);
    if (backup === undefined) throw new Error('internal: a template change was planned without a backup');
    return { kind: 'change', summary: `replace ${paths.template} (backup: ${backup})`, diff: templateDiff(paths.template.path, facts.template, desired), backup };
  },
  async apply(ctx, plan) {
    const { paths } = ctx;
    const backupPath = paths.configDir.join(plan.backup);
    await ctx.journal.record({ kind: 'template-written', backup: backupPath, original: ctx.facts.template });
    // Compare-and-swap against the backup: refuse if the template is no longer what was backed up.
    const command = atomicWriteCommand(paths, ctx.runId, plan.backup);
    const result = await ctx.exec(command, { stdin: ctx.desired });
    if (result.code === GUARD_FAILED) {
      ctx.journal.forget('template-written');
      throw new StepError('write-template', `the template changed on the host after it was read; nothing was written (the backup ${plan.backup} is kept)`, 'Run again to see the plan for the template as it is now.');
    }
    if (!succeeded(result)) throw new StepError('write-template', `could not write the template: ${firstLine(result)}`, 'Check free disk space and permissions in the config directory.');
    if (!result.stdout.equals(ctx.desired)) throw new StepError('write-template', 'the template read back after writing differs from the new config');
    return `${paths.template} now holds the new config (${ctx.desired.length} bytes); ${plan.backup} holds the original`;
  },
});
