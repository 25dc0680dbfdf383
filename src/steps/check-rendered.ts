// Step 7: the config nginx loaded has the map block and the upgrade headers; the target URL is set.
import { defineCheck } from '../engine/step.js';
import { StepError } from '../errors.js';
import { readLive } from './gather.js';
import { blockBody } from './nginx-block.js';

export const renderedCheck = defineCheck({
  id: 'rendered',
  title: 'The rendered nginx config has WebSocket support',
  async run(ctx) {
    const { runbook } = ctx;
    // After a restart the facts are stale; otherwise they were read moments ago.
    const live = ctx.deployed ? await readLive(ctx) : { rendered: ctx.facts.rendered, targetUrl: ctx.facts.targetUrl };
    if (live.rendered === undefined) throw new StepError('rendered', `cannot read ${runbook.renderedConfigPath} in the container`, 'Is the container running? docker compose ps');
    const text = live.rendered.toString('utf8');
    const missing = runbook.requiredDirectives
      .filter((directive) => !directive.pattern.test(directive.within ? (blockBody(text, directive.within) ?? '') : text))
      .map((d) => d.name);
    if (missing.length > 0) {
      throw new StepError('rendered', `${runbook.renderedConfigPath} in the container lacks: ${missing.join('; ')}`, 'Was the image rebuilt and the container recreated? docker compose build, then up -d --force-recreate (the seed\'s "Still getting WebSocket errors").');
    }
    if (live.targetUrl === undefined) {
      throw new StepError('rendered', `${runbook.targetVariable} is not set in the container`, `Set ${runbook.targetVariable} in the compose environment (.env in the project directory).`);
    }
    if (text.includes(`\${${runbook.targetVariable}}`)) {
      throw new StepError('rendered', `${runbook.renderedConfigPath} still holds the unsubstituted \${${runbook.targetVariable}}`, 'Check the image\'s entrypoint (envsubst).');
    }
    return `map block and upgrade headers present; ${runbook.targetVariable}=${live.targetUrl}`;
  },
});
