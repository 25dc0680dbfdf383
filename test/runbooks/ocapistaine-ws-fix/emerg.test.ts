import { describe, expect, it } from 'vitest';
import { emergEvidence } from '../../../runbooks/ocapistaine-ws-fix/emerg.js';
import { DESIRED } from '../../helpers/context.js';

describe('emergEvidence', () => {
  it('quotes each nginx error once, with the template line it points at', () => {
    const logs = [
      'ocapistaine-1  | nginx: [emerg] unknown directive "proxy_htp_version" in /etc/nginx/nginx.conf:18',
      'ocapistaine-1  | nginx: [emerg] unknown directive "proxy_htp_version" in /etc/nginx/nginx.conf:18',
      'ocapistaine-1  | 2026/11/26 01:00:00 [notice] 1#1: start worker processes',
      'ocapistaine-1  | 2026/11/26 01:00:02 [error] 29#29: *1 connect() failed (111: Connection refused)',
    ].join('\n');
    expect(emergEvidence(logs, DESIRED)).toEqual([
      'nginx: [emerg] unknown directive "proxy_htp_version" in /etc/nginx/nginx.conf:18\n    template line 18: proxy_http_version 1.1;',
      '2026/11/26 01:00:02 [error] 29#29: *1 connect() failed (111: Connection refused)',
    ]);
  });

  it('has nothing to say about clean logs', () => {
    expect(emergEvidence('ocapistaine-1  | [notice] ready', DESIRED)).toEqual([]);
  });
});
