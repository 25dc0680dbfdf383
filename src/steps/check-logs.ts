// Step 6: the logs since the restart carry no nginx error. Never `logs -f`: it does not return.
import { composeCommands } from '../compose/commands.js';
import { findNginxErrors } from '../compose/parse.js';
import { defineCheck } from '../engine/step.js';
import { StepError } from '../errors.js';
import { maskSecrets } from '../shell/mask.js';
import { firstLine, succeeded } from '../transport/transport.js';
import { LOG_TAIL } from './log-tail.js';

export const logsCheck = defineCheck({
  id: 'logs',
  title: 'The logs carry no nginx errors',
  concurrent: true,
  async run(ctx) {
    // Nothing restarted: the logs read with the facts moments ago are the logs.
    let logs = ctx.deployed ? undefined : ctx.facts.logs;
    if (logs === undefined) {
      const result = await ctx.exec(composeCommands.logs(ctx.target, LOG_TAIL));
      if (!succeeded(result)) throw new StepError('logs', `docker compose logs failed: ${firstLine(result)}`);
      logs = `${result.stdout.toString('utf8')}\n${result.stderr.toString('utf8')}`;
    }
    const errors = findNginxErrors(logs);
    if (errors.length > 0) {
      const shown = maskSecrets(errors.slice(-5).join('\n'), [ctx.runbook.targetVariable]);
      throw new StepError('logs', `the last ${LOG_TAIL} log lines carry ${errors.length} nginx error line(s):\n${shown}`, 'Fix what the [emerg]/[error] lines name (the seed\'s "Container won\'t start").');
    }
    return `no [emerg], [alert], [crit] or [error] in the last ${LOG_TAIL} lines`;
  },
});
