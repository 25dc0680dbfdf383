import { describe, expect, it } from 'vitest';
import { humanDuration } from '../../src/fake-host/compose/docker-time.js';
import { FlagError, parseFlags } from '../../src/fake-host/compose/flags.js';
import { interpolate } from '../../src/fake-host/compose/interpolate.js';
import { formatTable } from '../../src/fake-host/compose/table.js';
import { parseNginx } from '../../src/fake-host/nginx/parse.js';
import { routeRequest, upstreamSeesUpgrade } from '../../src/fake-host/nginx/proxy-route.js';
import { envsubst } from '../../src/lib/envsubst.js';

describe('docker formatting', () => {
  it('says durations as go-units does', () => {
    expect(humanDuration(400)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(59_000)).toBe('59 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(45 * 60_000)).toBe('45 minutes');
    expect(humanDuration(3 * 3_600_000)).toBe('3 hours');
    expect(humanDuration(3 * 24 * 3_600_000)).toBe('3 days');
  });

  it('pads table columns to the widest cell plus three, at least ten', () => {
    expect(formatTable([['A', 'LONGER-HEADER', 'Z'], ['x', 'y', '']])).toBe('A         LONGER-HEADER   Z\nx         y               \n');
  });

  it('parses flags like cobra', () => {
    const f = parseFlags(['-aq', '--tail=5', 'svc', '-n', '7', '--', '-x'], [
      { long: 'all', short: 'a' },
      { long: 'quiet', short: 'q' },
      { long: 'tail', short: 'n', value: true },
    ], true);
    expect(f.has('all') && f.has('quiet')).toBe(true);
    expect(f.values('tail')).toEqual(['5', '7']);
    expect(f.positionals).toEqual(['svc', '-x']);
    expect(() => parseFlags(['--nope'], [], true)).toThrow(FlagError);
    expect(() => parseFlags(['-n'], [{ long: 'tail', short: 'n', value: true }], true)).toThrow("flag needs an argument: 'n' in -n");
    expect(parseFlags(['svc', 'cat', '-n'], [], false).positionals).toEqual(['svc', 'cat', '-n']);
  });
});

describe('substitution', () => {
  it('interpolates compose variables with defaults and warns on unset ones', () => {
    const warned: string[] = [];
    const vars = new Map([['A', 'a'], ['E', '']]);
    expect(interpolate('$A ${A} ${B:-b} ${E:-e} ${E-e} $$A ${U}', vars, (n) => warned.push(n))).toBe('a a b e  $A ');
    expect(warned).toEqual(['U']);
  });

  it('envsubst with a list keeps nginx variables; without one blanks them', () => {
    const env = new Map([['URL', 'https://x']]);
    expect(envsubst('proxy_pass ${URL}; set $a $http_upgrade;', env, ['URL'])).toBe('proxy_pass https://x; set $a $http_upgrade;');
    expect(envsubst('proxy_pass $URL; set $a $http_upgrade;', env)).toBe('proxy_pass https://x; set  ;');
  });
});

describe('proxy routing', () => {
  const request = { path: '/_stcore/stream', headers: { upgrade: 'websocket', connection: 'Upgrade', host: 'public.example' } };

  it('inherits proxy_set_header only into a location that sets none', () => {
    const inherits = parseNginx(`
      server {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        location / { proxy_pass http://app; }
      }`);
    expect(upstreamSeesUpgrade(routeRequest(inherits, request)!)).toBe(true);
    const overrides = parseNginx(`
      server {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        location / { proxy_pass http://app; proxy_set_header Host app; }
      }`);
    expect(upstreamSeesUpgrade(routeRequest(overrides, request)!)).toBe(false);
  });

  it('evaluates the map and picks the longest prefix location', () => {
    const tree = parseNginx(`
      map $http_upgrade $connection_upgrade { default upgrade; '' close; }
      server {
        location / { proxy_pass http://app; }
        location /_stcore/ {
          proxy_pass http://app;
          proxy_http_version 1.1;
          proxy_set_header Upgrade $http_upgrade;
          proxy_set_header Connection $connection_upgrade;
        }
      }`);
    const route = routeRequest(tree, request)!;
    expect(route.location).toBe('/_stcore/');
    expect(route.upstreamHeaders.connection).toBe('upgrade');
    expect(route.upstreamHeaders.host).toBe('app');
    expect(routeRequest(tree, { ...request, headers: { host: 'h' } })!.upstreamHeaders.connection).toBe('close');
  });
});

describe('keys', () => {
  it('never hands out a pair that ssh2 cannot read back (mscdex/ssh2#1390)', async () => {
    const { soundKeyPair, fingerprintOf } = await import('../../src/fake-host/keys.js');
    const { utils } = await import('ssh2');
    for (let i = 0; i < 300; i++) {
      const pair = soundKeyPair();
      expect(utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
    expect(fingerprintOf(soundKeyPair().public)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
