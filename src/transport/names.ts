// What a host name and a user name may look like when they come from ~/.ssh/config or a ProxyJump rather than a flag.
// The same shapes args.ts accepts for --host and --user: nothing that ssh, a shell or a known_hosts line would read as more.

const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$|^[0-9a-fA-F:.]+$/;
const USER = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;

/** A DNS name or an IPv4/IPv6 address; never something starting with `-`. */
export function isHostName(text: string): boolean {
  return !text.startsWith('-') && HOST.test(text);
}

/** A POSIX-ish login name. */
export function isUserName(text: string): boolean {
  return USER.test(text);
}
