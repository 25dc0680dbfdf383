import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkNginxConfig } from '../../src/fake-host/nginx/validate.js';
import { envsubst } from '../../src/lib/envsubst.js';

const env = new Map([['OCAPISTAINE_TARGET_URL', 'https://ocapistaine.ngrok-free.app']]);
const broken = readFileSync('fixtures/fake-host/vaettir/proxy-configs/ocapistaine.conf.template', 'utf8');
const fixed = readFileSync('runbooks/ocapistaine-ws-fix/ocapistaine.conf.template', 'utf8');
const render = (t: string): string => envsubst(t, env, ['OCAPISTAINE_TARGET_URL']);
const message = (text: string, options = {}): string => {
  const check = checkNginxConfig(text, options);
  return check.ok ? 'ok' : check.message;
};

describe('nginx emulator checks', () => {
  it('accepts both rendered templates', () => {
    expect(message(render(broken))).toBe('ok');
    expect(message(render(fixed))).toBe('ok');
  });

  it('reports a missing brace at end of file, with the line nginx gives', () => {
    const text = render(fixed).replace(/}\n$/, '');
    const lines = text.split('\n').length;
    expect(message(text)).toBe(`unexpected end of file, expecting "}" in /etc/nginx/nginx.conf:${lines}`);
  });

  it('reports junk, an extra brace, a bad arity and an undefined variable', () => {
    expect(message('hello world\n')).toBe('unexpected end of file, expecting ";" or "}" in /etc/nginx/nginx.conf:2');
    expect(message('hello world;\n')).toBe('unknown directive "hello" in /etc/nginx/nginx.conf:1');
    expect(message('server {\n}\n}\n')).toBe('unexpected "}" in /etc/nginx/nginx.conf:3');
    expect(message('server {\n location / {\n  proxy_set_header Upgrade ;\n }\n}\n')).toBe(
      'invalid number of arguments in "proxy_set_header" directive in /etc/nginx/nginx.conf:3',
    );
    expect(message('server {\n location / {\n  proxy_pass http://x;\n  proxy_set_header Connection $connection_upgrade;\n }\n}\n')).toBe(
      'unknown "connection_upgrade" variable',
    );
  });

  it('with reject-new-config, refuses the map where the fixed template has it', () => {
    expect(message(render(fixed), { rejectUpgradeMap: true })).toBe('"map" directive is not allowed here in /etc/nginx/nginx.conf:2');
    expect(message(render(broken), { rejectUpgradeMap: true })).toBe('ok');
  });

  it('blank-vars renders an invalid map', () => {
    const blank = envsubst(fixed, env);
    expect(blank).not.toContain('map $http_upgrade');
    expect(message(blank)).toBe('invalid number of arguments in "map" directive in /etc/nginx/nginx.conf:2');
  });
});
