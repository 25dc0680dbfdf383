// The expansions OpenSSH applies to values in ssh_config: a leading `~`, `${VARIABLE}`, then `%` tokens.
import { createHash } from 'node:crypto';

// `~` and `~/…` mean the home directory; `~user/…` is left alone (we do not read other users' homes).
export function expandTilde(path: string, home: string): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  return home.replace(/\/+$/, '') + path.slice(1) || '/';
}

// Like OpenSSH's percent_expand(): every `%x` must be a known token, so an unsupported one fails loudly, not silently.
export function expandTokens(text: string, values: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const token = text[++i];
    if (token === undefined) throw new Error(`"${text}" ends with a lone %`);
    const value = token === '%' ? '%' : values[token];
    if (value === undefined) {
      const known = [...Object.keys(values).map((k) => `%${k}`), '%%'].join(' ');
      throw new Error(`"${text}" uses %${token}, which is not supported here (supported: ${known})`);
    }
    out += value;
  }
  return out;
}

// Like OpenSSH's dollar_expand(): `${NAME}` from the environment; an unset variable is an error, as in ssh.
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([^}]*)\}?/g, (whole, name: string) => {
    if (!whole.endsWith('}')) throw new Error(`"${text}": \${ without a closing }`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`"${text}": \${${name}} is not a variable name`);
    const value = env[name];
    if (value === undefined) throw new Error(`"${text}": the environment variable ${name} is not set`);
    return value;
  });
}

/** What the client-side tokens of ssh_config(5) "TOKENS" stand for, for one connection. */
export interface TokenContext {
  /** %h: the HostName after its own expansion, lowercased. */
  host: string;
  /** %n: the name as given on the command line (the alias). */
  original: string;
  port: number;
  /** %r: the remote user (a flag, else User, else the local user). */
  remoteUser: string;
  /** %u: the local user. */
  localUser: string;
  /** %d: the home directory. */
  home: string;
  /** %l: this machine's host name; %L is its first label. */
  localHost: string;
  /** %i: the local uid. */
  uid: number;
  /** %k: HostKeyAlias, else the alias. */
  hostKeyAlias?: string | undefined;
}

// %C as OpenSSH 9.2 computes it: hex SHA1 of %l%h%p%r.
function connectionHash(ctx: TokenContext): string {
  return createHash('sha1').update(`${ctx.localHost}${ctx.host}${ctx.port}${ctx.remoteUser}`).digest('hex');
}

/** The tokens IdentityFile, CertificateFile, IdentityAgent and UserKnownHostsFile accept. */
export function fileTokens(ctx: TokenContext): Record<string, string> {
  return {
    C: connectionHash(ctx),
    d: ctx.home,
    h: ctx.host,
    i: String(ctx.uid),
    k: ctx.hostKeyAlias ?? ctx.original,
    L: ctx.localHost.split('.')[0] ?? ctx.localHost,
    l: ctx.localHost,
    n: ctx.original,
    p: String(ctx.port),
    r: ctx.remoteUser,
    u: ctx.localUser,
  };
}

/** The tokens ProxyCommand accepts. */
export function proxyCommandTokens(ctx: TokenContext): Record<string, string> {
  return { h: ctx.host, n: ctx.original, p: String(ctx.port), r: ctx.remoteUser };
}

/** A file name as ssh expands it: `~`, then `${VAR}`, then `%` tokens. */
export function expandPath(path: string, ctx: TokenContext, env: NodeJS.ProcessEnv): string {
  return expandTokens(expandEnv(expandTilde(path, ctx.home), env), fileTokens(ctx));
}
