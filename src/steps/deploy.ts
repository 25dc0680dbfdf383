// Step 4: rebuild the image and recreate the container, unless it already serves the new config.
import { composeCommands } from '../compose/commands.js';
import type { RunContext } from '../engine/context.js';
import { defineStep } from '../engine/step.js';
import { StepError } from '../errors.js';
import { maskSecrets } from '../shell/mask.js';
import { succeeded, type ExecResult } from '../transport/transport.js';
import { renderTemplate } from './render.js';
import { writeTemplateStep } from './write-template.js';

/** Whether the running container's rendered config is exactly the given template rendered. */
export function servesTemplate(ctx: RunContext, template: Buffer): boolean {
  const { container, rendered, targetUrl } = ctx.facts;
  if (container?.state !== 'running' || rendered === undefined || targetUrl === undefined) return false;
  return rendered.equals(renderTemplate(template, { [ctx.runbook.targetVariable]: targetUrl }));
}

/** The last lines of a failed compose command, secrets masked, for the report. */
export function tail(result: ExecResult, runbookVariable: string, lines = 6): string {
  const text = `${result.stderr.toString('utf8')}\n${result.stdout.toString('utf8')}`;
  const kept = text.split('\n').map((line) => line.trimEnd()).filter(Boolean).slice(-lines);
  return maskSecrets(kept.join('\n'), [runbookVariable]);
}

/** `build` then `up -d`, recording each in the journal before it can change anything. */
export async function buildAndUp(ctx: RunContext, forceRecreate: boolean): Promise<string> {
  const build = await ctx.exec(composeCommands.build(ctx.target), { timeoutMs: ctx.options.buildTimeoutMs });
  if (!succeeded(build)) {
    throw new StepError('deploy', `docker compose build ${ctx.options.service} failed:\n${tail(build, ctx.runbook.targetVariable)}`, 'Read the build output above; the running container was not touched.');
  }
  ctx.journal.record({ kind: 'image-built' });
  ctx.checkpoint();
  ctx.journal.record({ kind: 'container-recreated' });
  ctx.deployed = true;
  const up = await ctx.exec(composeCommands.up(ctx.target, forceRecreate));
  if (!succeeded(up)) {
    throw new StepError('deploy', `docker compose up -d ${ctx.options.service} failed:\n${tail(up, ctx.runbook.targetVariable)}`);
  }
  const output = up.stderr.toString('utf8') + up.stdout.toString('utf8');
  return /Recreate|Started|Created/.test(output) ? 'image rebuilt, container recreated' : 'image rebuilt; compose left the container running as it was';
}

export const deployStep = defineStep<{ forceRecreate: boolean }>({
  id: 'deploy',
  title: 'Rebuild the image and restart the service',
  plan(ctx) {
    if (writeTemplateStep.plan(ctx).kind === 'change') {
      return { kind: 'change', summary: `docker compose build ${ctx.options.service}, then up -d with profiles ${ctx.runbook.composeProfiles.join(', ')}`, forceRecreate: false };
    }
    if (servesTemplate(ctx, ctx.desired)) return { kind: 'noop', reason: 'the running container already serves the new config' };
    const why = ctx.facts.container?.state !== 'running' ? `the container is ${ctx.facts.container?.status || 'not there'}` : 'the running container does not serve the template yet';
    return { kind: 'change', summary: `${why}: docker compose build ${ctx.options.service}, then up -d --force-recreate`, forceRecreate: true };
  },
  apply: (ctx, plan) => buildAndUp(ctx, plan.forceRecreate),
});
