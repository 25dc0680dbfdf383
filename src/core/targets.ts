// The hosts of a fleet run as written on the command line or in a hosts file; kept light, since the CLI parses them
// before it loads the engine. A line that is not exactly `[user@]host[:port] [url]` is refused, naming its file and
// line: a mistake there must not fall back to a default host, user or port.
import { lookup } from 'node:dns/promises';
import { UsageError } from '../errors.js';

/** What a `[user@]host[:port] [url]` line gives; what it leaves out comes from the flags and the ssh config. */
export interface TargetSpec {
  host?: string | undefined;
  user?: string;
  port?: string;
  url?: string;
  /** Where it was written, for messages: `--host`, or `proxies.txt:3`. */
  where?: string;
}

/** A line of a hosts file, with its number. */
export interface HostsFileLine {
  text: string;
  line: number;
}

/** Parses one `[user@]host[:port] [url]` (IPv6 as `[addr]:port`); `where` names it in errors (`proxies.txt:3`). */
export function parseTargetLine(line: string, where?: string): TargetSpec {
  const fail = (what: string): never => {
    throw new UsageError(`${where ?? 'a target'}: ${what}`, 'Each line is [user@]host[:port] [url], for example: op@proxy-2:2222 https://two.example');
  };
  const columns = line.trim().split(/\s+/).filter(Boolean);
  if (columns.length > 2) fail(`a third column ${JSON.stringify(columns[2])}: a line is [user@]host[:port] [url]`);
  const [target = '', url] = columns;
  const at = target.lastIndexOf('@');
  const user = at >= 0 ? target.slice(0, at) : undefined;
  if (user === '') fail(`${JSON.stringify(target)} has nothing before the @: give the user, or drop the @`);
  const rest = at >= 0 ? target.slice(at + 1) : target;
  const bracketed = /^\[([^\]]*)\](?::([^:]*))?$/.exec(rest);
  const single = rest.indexOf(':') === rest.lastIndexOf(':') ? rest.lastIndexOf(':') : -1;
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : single >= 0 ? [rest.slice(0, single), rest.slice(single + 1)] : [rest, undefined];
  if (host === '') fail(`${JSON.stringify(target)} names no host`);
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) fail(port === '' ? `${JSON.stringify(target)} has nothing after the colon: give the port, or drop the colon` : `the port ${JSON.stringify(port)} is not a whole number from 1 to 65535`);
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail(`the port ${port} is not a whole number from 1 to 65535`);
  return { host, ...(user ? { user } : {}), ...(port ? { port } : {}), ...(url ? { url } : {}), ...(where !== undefined ? { where } : {}) };
}

/**
 * The lines of a hosts file that name a host, with their numbers: blank lines and comments are skipped. A comment is
 * a `#` at the start of a line or after whitespace; a `#` inside a word (a URL's fragment) is part of it.
 */
export function hostsFileLines(text: string): HostsFileLine[] {
  return text
    .split('\n')
    .map((raw, index) => ({ text: raw.replace(/(^|\s)#.*$/, '').trim(), line: index + 1 }))
    .filter((l) => l.text !== '');
}

/** What makes two runs the same target: the host's addresses, the port, and the project as that user sees it. */
export interface TargetIdentity {
  where: string;
  host: string;
  port: number;
  user: string;
  /** The project directory as written (a path under ~ or relative is the user's own). */
  project: string;
  /** Reached through a bastion: the name is resolved there, not here. */
  jumped: boolean;
}

const LOOKUP_MS = 2_000;

// Every address a name resolves to here (the name itself when it does not resolve within 2 s: the run will say why).
async function addressesOf(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([host.toLowerCase()]), LOOKUP_MS);
  });
  try {
    return await Promise.race([lookup(host, { all: true }).then((found) => found.map((a) => a.address)), timeout]);
  } catch {
    return [host.toLowerCase()];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Groups of runs that would act on the same project of the same host (`127.0.0.1`, `localhost` and `op@localhost`
 * are one when op is the default user): two runs there would fight over one lock, and the second would be told to
 * --force-unlock its sibling. Each group has two or more entries.
 */
export async function duplicateTargets(targets: readonly TargetIdentity[]): Promise<TargetIdentity[][]> {
  const keys = await Promise.all(
    targets.map(async (t) => {
      const project = t.project.startsWith('/') ? t.project : `${t.user}:${t.project}`;
      const addresses = t.jumped ? [t.host.toLowerCase()] : await addressesOf(t.host);
      return addresses.map((address) => `${address}\0${t.port}\0${project}`);
    }),
  );
  // Union by any shared key: a name that resolves to several addresses joins every group one of them is in.
  const group = targets.map((_, i) => i);
  const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i]!)));
  const owner = new Map<string, number>();
  keys.forEach((list, i) => {
    for (const key of list) {
      const other = owner.get(key);
      if (other === undefined) owner.set(key, i);
      else group[find(i)] = find(other);
    }
  });
  const groups = new Map<number, TargetIdentity[]>();
  targets.forEach((t, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), t]));
  return [...groups.values()].filter((g) => g.length > 1);
}
