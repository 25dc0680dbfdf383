// What --help and `apply-ws-fix runbooks` show of this runbook, without its code: runbook.ts spreads it into its
// definition, so the two cannot disagree. Import nothing heavier than `param` here (see src/cli/registry.ts).
import { param } from '../../src/core/params.js';
import type { RunbookMeta } from '../../src/core/types.js';

export default {
  id: 'ocapistaine-ws-fix',
  title: 'WebSocket upgrade support for the ocapistaine nginx proxy',
  description:
    'Installs the nginx config that passes WebSocket upgrades through to the Streamlit app (the map block and the Upgrade/Connection headers), ' +
    'backs up the template first, rebuilds the image, tests it with nginx -t in a throwaway container, recreates the container, and verifies ' +
    'what nginx loaded and what the public URL answers; any failed check rolls it back.',
  connection: { host: 'vaettir.locki.io', port: 22, user: 'jnxmas' },
  params: {
    dir: param.path({ default: '~/vaettir', description: 'the compose project directory on the host (~/ is the remote home)' }),
    service: param.name({ default: 'ocapistaine', description: 'the compose service of the proxy' }),
    url: param.url({ default: 'https://ocapistaine.vaettir.locki.io', description: 'the public URL checked from this machine' }),
    'keep-backups': param.number({ default: 0, description: 'after a successful run, keep the newest N timestamped backups of the template (0: keep all, and list them)' }),
  },
} satisfies RunbookMeta;
