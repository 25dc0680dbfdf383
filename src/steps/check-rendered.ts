// Step 7: the config nginx loaded has the map block and the upgrade headers; the target URL is set.
// The seed's "Still getting WebSocket errors": when the template has them but the container does not,
// recreate the container once (up -d --force-recreate) before giving up.
import type { RunContext } from '../engine/context.js';
import { defineCheck } from '../engine/step.js';
import { StepError } from '../errors.js';
import { waitRunning } from './check-running.js';
import { recreateContainer } from './deploy.js';
import { readLive } from './gather.js';
import { blockBody } from './nginx-block.js';

/** The required directives a rendered config lacks, by name. */
export function missingDirectives(ctx: RunContext, rendered: Buffer): string[] {
  const text = rendered.toString('utf8');
  return ctx.runbook.requiredDirectives
    .filter((directive) => !directive.pattern.test(directive.within ? (blockBody(text, directive.within) ?? '') : text))
    .map((d) => d.name);
}

export const renderedCheck = defineCheck({
  id: 'rendered',
  title: 'The rendered nginx config has WebSocket support',
  // Beside the logs check; the endpoint check waits for it, since its one retry may recreate the container.
  concurrent: true,
  async run(ctx) {
    const { runbook } = ctx;
    // After a restart the facts are stale; otherwise they were read moments ago.
    let live = ctx.deployed ? await readLive(ctx) : { rendered: ctx.facts.rendered, targetUrl: ctx.facts.targetUrl };
    if (live.rendered === undefined) throw new StepError('rendered', `cannot read ${runbook.renderedConfigPath} in the container`, 'Is the container running? docker compose ps');
    let missing = missingDirectives(ctx, live.rendered);
    let retried = '';
    // Only when this run put the new config in place: a host it did not change is reported, not touched.
    if (missing.length > 0 && ctx.deployed) {
      await recreateContainer(ctx, true);
      await waitRunning(ctx, ctx.options.settleMs, ctx.options.startTimeoutMs);
      live = await readLive(ctx);
      missing = live.rendered === undefined ? missing : missingDirectives(ctx, live.rendered);
      retried = missing.length > 0 ? ' (also after one up -d --force-recreate)' : ' (after one up -d --force-recreate: the container had kept the old config)';
    }
    if (missing.length > 0) {
      throw new StepError('rendered', `${runbook.renderedConfigPath} in the container lacks: ${missing.join('; ')}${retried}`, 'Was the image rebuilt and the container recreated? docker compose build, then up -d --force-recreate (the seed\'s "Still getting WebSocket errors").');
    }
    const text = live.rendered!.toString('utf8');
    if (live.targetUrl === undefined) {
      throw new StepError('rendered', `${runbook.targetVariable} is not set in the container`, `Set ${runbook.targetVariable} in the compose environment (.env in the project directory).`);
    }
    if (text.includes(`\${${runbook.targetVariable}}`)) {
      throw new StepError('rendered', `${runbook.renderedConfigPath} still holds the unsubstituted \${${runbook.targetVariable}}`, 'Check the image\'s entrypoint (envsubst).');
    }
    return `map block and upgrade headers present; ${runbook.targetVariable}=${live.targetUrl}${retried}`;
  },
});
