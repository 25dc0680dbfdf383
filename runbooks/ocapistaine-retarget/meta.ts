// What --help and `apply-ws-fix runbooks` show of this runbook, without its code: runbook.ts spreads it into its
// definition, so the two cannot disagree. Import nothing heavier than `param` here (see src/cli/registry.ts).
import { param } from '../../src/core/params.js';
import type { RunbookMeta } from '../../src/core/types.js';

/** The variable the compose service reads from .env and the entrypoint substitutes into proxy_pass. */
export const TARGET_VARIABLE = 'OCAPISTAINE_TARGET_URL';
export const HEALTH = '/_stcore/health';

export default {
  id: 'ocapistaine-retarget',
  title: 'Point the ocapistaine proxy at a new upstream',
  description:
    `Checks from the host that the new upstream answers (${HEALTH}), sets ${TARGET_VARIABLE} in the project's .env (a backup first; only that line ` +
    'changes), recreates the container without a rebuild, and verifies the container\'s environment, the rendered proxy_pass, and the public URL ' +
    '(health 200, WebSocket handshake 101); any failed check puts the old .env and container back.',
  connection: { host: 'vaettir.locki.io', port: 22, user: 'jnxmas' },
  params: {
    dir: param.path({ default: '~/vaettir', description: 'the compose project directory on the host (~/ is the remote home)' }),
    service: param.name({ default: 'ocapistaine', description: 'the compose service of the proxy' }),
    url: param.url({ default: 'https://ocapistaine.vaettir.locki.io', description: 'the public URL checked from this machine' }),
    'target-url': param.url({
      required: 'apply',
      description: `the new upstream (${TARGET_VARIABLE}), e.g. https://new-name.ngrok-free.app`,
      validate: (value) => (new URL(value).origin === value ? undefined : 'must be scheme://host[:port] only: no path, query or trailing slash (proxy_pass appends the request path)'),
    }),
  },
} satisfies RunbookMeta;
