// Step 4: rebuild the image, test it with nginx -t, and recreate the container, unless it already serves the new config.
import { composeCommands } from '../compose/commands.js';
import type { RunContext } from '../engine/context.js';
import { defineStep, type StepPlan } from '../engine/step.js';
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

/** `docker compose build`; a failed build leaves the old image, so only success is journaled. */
export async function buildImage(ctx: RunContext): Promise<string> {
  const build = await ctx.exec(composeCommands.build(ctx.target), { timeoutMs: ctx.options.buildTimeoutMs });
  if (!succeeded(build)) {
    throw new StepError('build', `docker compose build ${ctx.options.service} failed:\n${tail(build, ctx.runbook.targetVariable)}`, 'Read the build output above; the running container was not touched.');
  }
  await ctx.journal.record({ kind: 'image-built' });
  return 'image rebuilt';
}

/** `up -d`, journaled before it runs: a failed or interrupted `up` may already have replaced the container. */
export async function recreateContainer(ctx: RunContext, forceRecreate: boolean): Promise<string> {
  await ctx.journal.record({ kind: 'container-recreated' });
  ctx.deployed = true;
  const up = await ctx.exec(composeCommands.up(ctx.target, forceRecreate));
  if (!succeeded(up)) {
    throw new StepError('deploy', `docker compose up -d ${ctx.options.service} failed:\n${tail(up, ctx.runbook.targetVariable)}`, 'Read the daemon\'s error above (docker compose ps -a and docker compose logs show the container); the run rolls back to the previous config.');
  }
  const output = up.stderr.toString('utf8') + up.stdout.toString('utf8');
  return /Recreate|Started|Created/.test(output) ? 'container recreated' : 'compose left the container running as it was';
}

/** `build` then `up -d` (the rollback's redeploy). */
export async function buildAndUp(ctx: RunContext, forceRecreate: boolean): Promise<string> {
  const built = await buildImage(ctx);
  ctx.checkpoint();
  return `${built}, ${await recreateContainer(ctx, forceRecreate)}`;
}

type DeployPlan = StepPlan<{ forceRecreate: boolean }>;

// Build, validate and restart share one decision: the container must come to serve the new template.
function planDeploy(ctx: RunContext, what: string): DeployPlan {
  if (writeTemplateStep.plan(ctx).kind === 'change') return { kind: 'change', summary: what, forceRecreate: false };
  if (servesTemplate(ctx, ctx.desired)) return { kind: 'noop', reason: 'the running container already serves the new config' };
  const why = ctx.facts.container?.state !== 'running' ? `the container is ${ctx.facts.container?.status || 'not there'}` : 'the running container does not serve the template yet';
  return { kind: 'change', summary: `${why}: ${what}`, forceRecreate: true };
}

export const buildStep = defineStep<{ forceRecreate: boolean }>({
  id: 'build',
  title: 'Rebuild the image',
  plan: (ctx) => planDeploy(ctx, `docker compose build ${ctx.options.service}`),
  apply: (ctx) => buildImage(ctx),
});

// Validate before activating: nginx tests the new image's config in a throwaway container, the running one untouched.
export const validateStep = defineStep<{ forceRecreate: boolean }>({
  id: 'validate',
  title: 'Test the new config with nginx -t',
  plan: (ctx) => planDeploy(ctx, 'nginx -t in a throwaway container of the new image'),
  async apply(ctx) {
    const result = await ctx.exec(composeCommands.testConfig(ctx.target));
    const said = tail(result, ctx.runbook.targetVariable);
    if (!succeeded(result)) {
      throw new StepError('validate', `nginx rejects the new config; it did not go live:\n${said}`, 'Fix what nginx names; the running container was not touched.');
    }
    return said.split('\n').find((line) => /test is successful|syntax is ok/.test(line))?.replace(/^.*nginx: /, '') ?? 'nginx -t passed';
  },
});

export const deployStep = defineStep<{ forceRecreate: boolean }>({
  id: 'deploy',
  title: 'Restart the service with the new image',
  plan: (ctx) => planDeploy(ctx, `docker compose --profile ${ctx.runbook.composeProfiles.join(' --profile ')} up -d ${ctx.options.service}`),
  apply: (ctx, plan) => recreateContainer(ctx, plan.forceRecreate),
});
