// The seed runbook (shared/seed/websocket-fix-runbook.md) as data: its host, its config, its checks.
import { join } from 'node:path';
import { defineRunbook } from '../../src/engine/runbook.js';
import { packageRoot } from '../../src/paths.js';

export const ocapistaineWsFix = defineRunbook({
  id: 'ocapistaine-ws-fix',
  title: 'WebSocket upgrade support for the ocapistaine nginx proxy',
  defaults: {
    host: 'vaettir.locki.io',
    port: 22,
    user: 'jnxmas',
    dir: '~/vaettir',
    service: 'ocapistaine',
    url: 'https://ocapistaine.vaettir.locki.io',
  },
  desiredTemplateFile: join(packageRoot(), 'runbooks', 'ocapistaine-ws-fix', 'ocapistaine.conf.template'),
  templatePath: (service: string) => `proxy-configs/${service}.conf.template`,
  composeProfiles: ['production', 'proxy'],
  targetVariable: 'OCAPISTAINE_TARGET_URL',
  renderedConfigPath: '/etc/nginx/nginx.conf',
  // The seed's step 6 and "Still getting WebSocket errors": the map block and the upgrade headers.
  requiredDirectives: [
    { name: 'map $http_upgrade $connection_upgrade block', pattern: /^\s*map\s+\$http_upgrade\s+\$connection_upgrade\s*\{/m },
    { name: 'proxy_http_version 1.1', pattern: /^\s*proxy_http_version\s+1\.1\s*;/m },
    { name: 'proxy_set_header Upgrade $http_upgrade', pattern: /^\s*proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/m },
    { name: 'proxy_set_header Connection $connection_upgrade', pattern: /^\s*proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/m },
  ],
  endpoints: { stream: '/_stcore/stream', health: '/_stcore/health' },
  backupSuffix: '.backup',
});
