// The seed runbook (shared/seed/websocket-fix-runbook.md) as data: its host, its config, its checks.
import { join } from 'node:path';
import { defineRunbook } from '../../src/engine/runbook.js';
import { packageRoot } from '../../src/paths.js';

const LOCATION_ROOT = /^\s*location\s+\/\s*\{/m;

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
  // The seed's step 6 and "Still getting WebSocket errors": the map block, and the upgrade headers
  // in the location that proxies the stream (the health location has its own proxy_http_version).
  requiredDirectives: [
    { name: 'map $http_upgrade $connection_upgrade block', pattern: /^\s*map\s+\$http_upgrade\s+\$connection_upgrade\s*\{/m },
    { name: 'proxy_http_version 1.1 in location /', pattern: /^\s*proxy_http_version\s+1\.1\s*;/m, within: LOCATION_ROOT },
    { name: 'proxy_set_header Upgrade $http_upgrade in location /', pattern: /^\s*proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/m, within: LOCATION_ROOT },
    { name: 'proxy_set_header Connection $connection_upgrade in location /', pattern: /^\s*proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/m, within: LOCATION_ROOT },
  ],
  endpoints: { stream: '/_stcore/stream', health: '/_stcore/health' },
  backupSuffix: '.backup',
});
