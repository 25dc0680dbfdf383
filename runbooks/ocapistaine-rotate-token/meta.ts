// What --help and `apply-ws-fix runbooks` show of this runbook, without its code: runbook.ts spreads it into its
// definition, so the two cannot disagree. Import nothing heavier than `param` here (see src/cli/registry.ts).
import { param } from '../../src/core/params.js';
import type { RunbookMeta } from '../../src/core/types.js';

export const TOKEN_VARIABLE = 'OCAPISTAINE_API_TOKEN';

export default {
  id: 'ocapistaine-rotate-token',
  title: `Rotate ${TOKEN_VARIABLE} without showing it`,
  description:
    `Sets ${TOKEN_VARIABLE} in the project's .env to a new value read from APPLY_WS_FIX_PARAM_TOKEN or stdin (a backup first, mode kept; only that ` +
    'line changes; the value travels on stdin, never on a command line), recreates the container, and checks by comparing checksums on the host ' +
    'that the container has it. The diff, the journal and the report show checksums only; a failed check puts the old .env back.',
  connection: { host: 'vaettir.locki.io', port: 22, user: 'jnxmas' },
  params: {
    dir: param.path({ default: '~/vaettir', description: 'the compose project directory on the host (~/ is the remote home)' }),
    service: param.name({ default: 'ocapistaine', description: 'the compose service that reads the token' }),
    token: param.secret({
      required: 'apply',
      description: `the new ${TOKEN_VARIABLE}: from APPLY_WS_FIX_PARAM_TOKEN or stdin (--param token=-), never a flag`,
      validate: (value) => (value === '' ? 'must not be empty' : /[\r\n]/.test(value) ? 'must be one line' : undefined),
    }),
  },
} satisfies RunbookMeta;
