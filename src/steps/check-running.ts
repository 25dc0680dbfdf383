// Step 5: the container runs, and still runs after a settle time (a crash loop shows Up for a moment).
import { setTimeout as sleep } from 'node:timers/promises';
import { composeCommands } from '../compose/commands.js';
import type { ContainerStatus } from '../compose/parse.js';
import type { Session } from '../engine/context.js';
import { defineCheck } from '../engine/step.js';
import { StepError } from '../errors.js';
import { containerOf } from './gather.js';

const POLL_MS = 500;
const FAILED_STATES = new Set(['restarting', 'exited', 'dead']);

/**
 * Polls `docker compose ps` until the container has been running for `settleMs`, failing at once on a
 * crash loop or exit, and after `timeoutMs` at most. Returns the last status seen.
 */
export async function waitRunning(session: Session, settleMs: number, timeoutMs: number): Promise<ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  let runningSince: number | undefined;
  let last: ContainerStatus | undefined;
  for (;;) {
    last = containerOf(await session.exec(composeCommands.ps(session.target)), session.target.service);
    const now = Date.now();
    if (last?.state === 'running') {
      runningSince ??= now;
      if (now - runningSince >= settleMs) return last;
    } else {
      runningSince = undefined;
      if (last !== undefined && FAILED_STATES.has(last.state)) {
        throw new StepError('running', `${last.name} is not running: ${last.status}`, `Read the logs: docker compose logs ${session.target.service} --tail 100 (the seed's "Container won't start").`);
      }
    }
    if (now >= deadline + settleMs) {
      throw new StepError('running', last ? `${last.name} did not settle in ${Math.round(timeoutMs / 1000)} s: ${last.status}` : `no container for service ${session.target.service}`, 'Check docker compose ps and the logs on the host.');
    }
    await sleep(runningSince !== undefined ? Math.min(POLL_MS, settleMs - (now - runningSince)) : POLL_MS);
  }
}

export const runningCheck = defineCheck({
  id: 'running',
  title: 'The container is running',
  async run(ctx) {
    // Nothing restarted: one look, and the look taken with the facts moments ago will do.
    const seen = ctx.facts.container;
    if (!ctx.deployed && seen !== undefined) {
      if (seen.state !== 'running') throw new StepError('running', `${seen.name} is not running: ${seen.status}`, `Read the logs: docker compose logs ${ctx.target.service} --tail 100 (the seed's "Container won't start").`);
      return `${seen.name}: ${seen.status}`;
    }
    const settle = ctx.deployed ? ctx.options.settleMs : 0;
    const status = await waitRunning(ctx, settle, ctx.deployed ? ctx.options.startTimeoutMs : 0);
    return settle > 0 ? `${status.name}: ${status.status} (still running after ${settle / 1000} s)` : `${status.name}: ${status.status}`;
  },
});
