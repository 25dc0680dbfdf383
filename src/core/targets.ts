// The hosts of a fleet run as written on the command line or in a hosts file; kept light, since the CLI parses them
// before it loads the engine.

/** What a `[user@]host[:port] [url]` line gives; what it leaves out comes from the flags and the ssh config. */
export interface TargetSpec {
  host?: string | undefined;
  user?: string;
  port?: string;
  url?: string;
}

/** Parses one `[user@]host[:port] [url]` (IPv6 as `[addr]:port`). */
export function parseTargetLine(line: string): TargetSpec {
  const [target = '', url] = line.trim().split(/\s+/);
  const at = target.lastIndexOf('@');
  const user = at >= 0 ? target.slice(0, at) : undefined;
  const rest = at >= 0 ? target.slice(at + 1) : target;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const single = rest.indexOf(':') === rest.lastIndexOf(':') ? rest.lastIndexOf(':') : -1;
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : single > 0 ? [rest.slice(0, single), rest.slice(single + 1)] : [rest, undefined];
  return { host, ...(user ? { user } : {}), ...(port ? { port } : {}), ...(url ? { url } : {}) };
}

/** The lines of a hosts file that name a host: # comments and blank lines are skipped. */
export function hostsFileLines(text: string): string[] {
  return text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
}
