// The automatic rollback of an apply: put back what the journal says this run changed, in resource order
// (template, then image, then container), each action converging on the facts read before the run.
import { composeCommands } from '../compose/commands.js';
import type { RunContext } from '../engine/context.js';
import { StepError } from '../errors.js';
import { sha256 } from '../report/checksum.js';
import { firstLine, succeeded } from '../transport/transport.js';
import { atomicWriteCommand } from './atomic-write.js';
import { waitRunning } from './check-running.js';
import { tail } from './deploy.js';
import { catCommand, containerOf, readLive } from './gather.js';
import { renderTemplate } from './render.js';

export interface UndoAction {
  id: string;
  title: string;
  run(ctx: RunContext): Promise<string>;
}

// Writes the original bytes back, but only over this run's own config: a third party's edit is never overwritten.
const restoreTemplate: UndoAction = {
  id: 'restore-template',
  title: 'Restore the original template',
  async run(ctx) {
    const entry = ctx.journal.get('template-written');
    if (entry === undefined) return 'nothing to restore';
    const current = await ctx.exec(catCommand(ctx.paths.template));
    if (!succeeded(current)) throw new StepError('rollback', `cannot read the template: ${firstLine(current)}`);
    if (current.stdout.equals(entry.original)) return 'the template still holds the original';
    if (!current.stdout.equals(ctx.desired)) {
      throw new StepError('rollback', 'the template holds content that is neither the original nor this run\'s config: left as it is', `Compare it with the backup: diff -u ${entry.backup} ${ctx.paths.template}`);
    }
    const result = await ctx.exec(atomicWriteCommand(ctx.paths, ctx.runId), { stdin: entry.original });
    if (!succeeded(result)) throw new StepError('rollback', `could not restore the template: ${firstLine(result)}`);
    if (!result.stdout.equals(entry.original)) throw new StepError('rollback', 'the template read back after the restore differs from the original');
    return `restored byte for byte (the bytes of ${entry.backup.name}; sha256 ${sha256(entry.original).slice(0, 16)}…)`;
  },
};

const rebuildImage: UndoAction = {
  id: 'rebuild-image',
  title: 'Rebuild the image from the original template',
  async run(ctx) {
    const build = await ctx.exec(composeCommands.build(ctx.target), { timeoutMs: ctx.options.buildTimeoutMs });
    if (!succeeded(build)) throw new StepError('rollback', `docker compose build failed:\n${tail(build, ctx.runbook.targetVariable)}`);
    return 'image rebuilt';
  },
};

// Recreates the container only if it does not already serve the original template, rendered as its entrypoint does.
const recreateContainer: UndoAction = {
  id: 'recreate-container',
  title: 'Recreate the container with the original config',
  async run(ctx) {
    const [ps, live] = await Promise.all([ctx.exec(composeCommands.ps(ctx.target)), readLive(ctx)]);
    const original = ctx.journal.get('template-written')?.original;
    const url = live.targetUrl ?? ctx.facts.targetUrl;
    const expected = original !== undefined && url !== undefined ? renderTemplate(original, { [ctx.runbook.targetVariable]: url }) : ctx.facts.rendered;
    const container = containerOf(ps, ctx.target.service);
    if (container?.state === 'running' && expected !== undefined && live.rendered?.equals(expected)) {
      return `${container.name} still runs the original config`;
    }
    const up = await ctx.exec(composeCommands.up(ctx.target, true));
    if (!succeeded(up)) throw new StepError('rollback', `docker compose up -d --force-recreate failed:\n${tail(up, ctx.runbook.targetVariable)}`);
    const status = await waitRunning(ctx, ctx.options.settleMs, ctx.options.startTimeoutMs);
    if (expected !== undefined) {
      const after = await readLive(ctx);
      if (!after.rendered?.equals(expected)) throw new StepError('rollback', 'the recreated container does not run the original config');
    }
    return `${status.name}: ${status.status}, original config`;
  },
};

/** The undo actions this run's journal calls for, in the order they must run. */
export function planUndo(ctx: RunContext): UndoAction[] {
  return [
    ...(ctx.journal.has('template-written') ? [restoreTemplate] : []),
    ...(ctx.journal.has('image-built') ? [rebuildImage] : []),
    ...(ctx.journal.has('container-recreated') ? [recreateContainer] : []),
  ];
}
