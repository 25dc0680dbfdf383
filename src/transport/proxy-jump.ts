// ProxyJump values as ssh_config(5) writes them: a comma list of `[user@]host[:port]` or `ssh://[user@]host[:port]`.
import { isHostName, isUserName } from './names.js';

export interface JumpSpec {
  /** As written in the list, for messages. */
  text: string;
  /** The name to look up in ~/.ssh/config (it may be an alias). */
  host: string;
  user?: string;
  port?: number;
}

/** A ProxyJump value we cannot read; the caller names where it came from. */
export class ProxyJumpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyJumpError';
  }
}

// OpenSSH's a2port(): 1..65535, digits only.
function portOf(text: string, whole: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ProxyJumpError(`ProxyJump "${whole}": port "${text}" is not a number from 1 to 65535`);
  return port;
}

// One hop. `[v6addr]:port` keeps an IPv6 address whole; otherwise the last colon separates the port, as ssh's hpdelim2 does.
function parseHop(text: string): JumpSpec {
  const fail = (why: string): never => {
    throw new ProxyJumpError(`ProxyJump "${text}": ${why}`);
  };
  let rest = text;
  if (/^ssh:\/\//i.test(rest)) {
    rest = rest.slice('ssh://'.length);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
    if (rest.includes('/') || rest.includes('?') || rest.includes(';')) fail('only ssh://[user@]host[:port] is supported');
  }
  const spec: JumpSpec = { text, host: '' };
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    spec.user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!isUserName(spec.user)) fail(`"${spec.user}" is not a user name`);
  }
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail('an opening [ without a closing ]');
    spec.host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail(`unexpected "${after}" after ]`);
      spec.port = portOf(after.slice(1), text);
    }
  } else {
    const colons = rest.split(':').length - 1;
    if (colons === 1) {
      const colon = rest.indexOf(':');
      spec.port = portOf(rest.slice(colon + 1), text);
      rest = rest.slice(0, colon);
    }
    spec.host = rest;
  }
  if (spec.host === '') fail('no host');
  if (!isHostName(spec.host)) fail(`"${spec.host}" is not a host name or address`);
  return spec;
}

/** Every hop of a ProxyJump value, first (outermost) first. `none` means no jump: an empty list. */
export function parseProxyJump(value: string): JumpSpec[] {
  if (value.toLowerCase() === 'none') return [];
  const hops = value.split(',');
  if (hops.some((hop) => hop === '')) throw new ProxyJumpError(`ProxyJump "${value}": an empty hop`);
  return hops.map(parseHop);
}
