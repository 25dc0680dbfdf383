import type { ComposeContext } from './context.js';
import { parseFlags } from './flags.js';

// The Compose and Docker versions whose behaviour the emulator follows (checked by test/e2e/compose-contract.test.ts).
export const COMPOSE_VERSION = '2.26.1';

// docker compose version [--short] [--format json].
export async function composeVersion(ctx: Pick<ComposeContext, 'io' | 'args'>): Promise<number> {
  const flags = parseFlags(ctx.args, [{ long: 'short' }, { long: 'format', short: 'f', value: true }], true);
  if (flags.has('short')) ctx.io.out(`${COMPOSE_VERSION}\n`);
  else if (flags.value('format') === 'json') ctx.io.out(`{"version":"v${COMPOSE_VERSION}"}\n`);
  else ctx.io.out(`Docker Compose version v${COMPOSE_VERSION}\n`);
  return 0;
}
