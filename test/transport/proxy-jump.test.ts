import { describe, expect, it } from 'vitest';
import { parseProxyJump, ProxyJumpError } from '../../src/transport/proxy-jump.js';

describe('parseProxyJump', () => {
  const cases: [string, ReturnType<typeof parseProxyJump>][] = [
    ['bastion', [{ text: 'bastion', host: 'bastion' }]],
    ['admin@bastion', [{ text: 'admin@bastion', host: 'bastion', user: 'admin' }]],
    ['admin@bastion:2222', [{ text: 'admin@bastion:2222', host: 'bastion', user: 'admin', port: 2222 }]],
    ['10.0.0.1:22', [{ text: '10.0.0.1:22', host: '10.0.0.1', port: 22 }]],
    ['[::1]:2200', [{ text: '[::1]:2200', host: '::1', port: 2200 }]],
    ['u@[fe80::1]', [{ text: 'u@[fe80::1]', host: 'fe80::1', user: 'u' }]],
    ['ssh://ops@jump.example.com:2022', [{ text: 'ssh://ops@jump.example.com:2022', host: 'jump.example.com', user: 'ops', port: 2022 }]],
    ['a,b@c:3', [{ text: 'a', host: 'a' }, { text: 'b@c:3', host: 'c', user: 'b', port: 3 }]],
    ['none', []],
    ['NONE', []],
  ];
  it.each(cases)('%s', (value, expected) => {
    expect(parseProxyJump(value)).toEqual(expected);
  });

  const bad: [string, RegExp][] = [
    ['bastion:0', /port "0"/],
    ['bastion:65536', /port/],
    ['bastion:22x', /port/],
    ['-oProxyCommand=touch /tmp/x', /not a host name/],
    ['a,,b', /empty hop/],
    ['x$(id)@bastion', /not a user name/],
    ['[::1', /closing \]/],
    ['ssh://bastion/path', /only ssh:\/\//],
    ['@bastion', /not a user name/],
    ['user@', /no host/],
  ];
  it.each(bad)('refuses %s', (value, message) => {
    expect(() => parseProxyJump(value)).toThrow(ProxyJumpError);
    expect(() => parseProxyJump(value)).toThrow(message);
  });
});
