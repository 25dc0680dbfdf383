import { describe, expect, it } from 'vitest';
import { findNginxErrors } from '../../runbooks/ocapistaine-ws-fix/nginx-errors.js';
import { parsePsJson, parsePsTable, stateFromStatus } from '../../src/compose/parse.js';
import { composeCommands } from '../../src/compose/commands.js';
import { RemotePath } from '../../src/shell/quote.js';

const NDJSON = [
  '{"Command":"\\"/entrypoint.sh\\"","CreatedAt":"2026-11-26 01:00:00 +0000 UTC","ExitCode":0,"Health":"","ID":"abc","Image":"vaettir-ocapistaine","Name":"vaettir-ocapistaine-1","Project":"vaettir","Publishers":[],"Service":"ocapistaine","State":"running","Status":"Up 9 seconds"}',
  '{"Name":"vaettir-web-1","Service":"web","State":"exited","Status":"Exited (1) 3 seconds ago","ExitCode":1,"Health":""}',
].join('\n');

describe('parsePsJson', () => {
  it('reads NDJSON (Compose >= 2.21)', () => {
    const [first, second] = parsePsJson(NDJSON);
    expect(first).toMatchObject({ name: 'vaettir-ocapistaine-1', service: 'ocapistaine', state: 'running', status: 'Up 9 seconds', exitCode: 0 });
    expect(second).toMatchObject({ service: 'web', state: 'exited', exitCode: 1 });
  });

  it('reads one JSON array (older Compose) the same way', () => {
    const array = `[${NDJSON.split('\n').join(',')}]`;
    expect(parsePsJson(array)).toEqual(parsePsJson(NDJSON));
  });

  it('skips warning lines and empty output', () => {
    expect(parsePsJson('')).toEqual([]);
    expect(parsePsJson(`WARN[0000] variable not set\n${NDJSON.split('\n')[0]}`)).toHaveLength(1);
  });

  it('falls back to the Status text when State is missing', () => {
    expect(parsePsJson('{"Name":"x","Service":"s","Status":"Restarting (1) 2 seconds ago"}')[0]?.state).toBe('restarting');
  });
});

describe('parsePsTable', () => {
  it('reads the table by its header columns', () => {
    const table = [
      'NAME                    IMAGE                 COMMAND                  SERVICE       CREATED          STATUS                          PORTS',
      'vaettir-ocapistaine-1   vaettir-ocapistaine   "/docker-entrypoint.…"   ocapistaine   12 seconds ago   Restarting (1) 2 seconds ago',
    ].join('\n');
    expect(parsePsTable(table)).toEqual([
      { name: 'vaettir-ocapistaine-1', service: 'ocapistaine', state: 'restarting', status: 'Restarting (1) 2 seconds ago', health: '', exitCode: null },
    ]);
  });
});

describe('stateFromStatus', () => {
  it.each([
    ['Up 9 seconds', 'running'],
    ['Up Less than a second', 'running'],
    ['Up 2 hours (Paused)', 'paused'],
    ['Restarting (1) 2 seconds ago', 'restarting'],
    ['Exited (1) 3 seconds ago', 'exited'],
    ['Created', 'created'],
    ['something else', 'unknown'],
  ])('%s → %s', (status, state) => expect(stateFromStatus(status)).toBe(state));
});

describe('findNginxErrors', () => {
  it('finds emerg, alert, crit and error lines only', () => {
    const logs = [
      'ocapistaine-1  | /docker-entrypoint.sh: Configuration complete; ready for start up',
      'ocapistaine-1  | 2026/11/26 01:00:00 [notice] 1#1: start worker processes',
      'ocapistaine-1  | nginx: [emerg] "map" directive is not allowed here in /etc/nginx/nginx.conf:2',
      'ocapistaine-1  | 2026/11/26 01:00:01 [warn] 1#1: something',
      'ocapistaine-1  | 2026/11/26 01:00:02 [error] 29#29: *1 connect() failed',
      'ocapistaine-1  | [crit] x', 'ocapistaine-1  | [alert] y',
    ].join('\n');
    expect(findNginxErrors(logs)).toHaveLength(4);
    expect(findNginxErrors(logs)[0]).toContain('[emerg]');
  });
});

describe('composeCommands', () => {
  const target = { dir: new RemotePath('~/vaettir'), service: 'ocapistaine', profiles: ['production', 'proxy'] };

  it('spells the runbook\'s commands, in the project directory', () => {
    expect(composeCommands.build(target)).toBe(`cd -- "$HOME"/vaettir && docker compose build ocapistaine`);
    expect(composeCommands.up(target)).toBe(`cd -- "$HOME"/vaettir && docker compose --profile production --profile proxy up -d ocapistaine`);
    expect(composeCommands.up(target, true)).toContain('up -d --force-recreate ocapistaine');
    expect(composeCommands.logs(target, 50)).toBe(`cd -- "$HOME"/vaettir && docker compose logs --no-color --tail 50 ocapistaine`);
    expect(composeCommands.logs(target, 50)).not.toMatch(/ -f\b|--follow/);
    expect(composeCommands.printenv(target, 'OCAPISTAINE_TARGET_URL')).toBe(`cd -- "$HOME"/vaettir && docker compose exec -T ocapistaine printenv OCAPISTAINE_TARGET_URL`);
  });

  it('quotes a hostile directory so it cannot run anything', () => {
    const hostile = { ...target, dir: new RemotePath('~/$(touch /tmp/x)') };
    expect(composeCommands.version(hostile)).toBe(`cd -- "$HOME"/'$(touch /tmp/x)' && docker compose version`);
  });
});
