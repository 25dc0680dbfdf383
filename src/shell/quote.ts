// The one place remote command lines are spelled: every value passes through shellQuote.

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quoting, so no value can end a word, expand, or start a command. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a remote argument cannot contain a NUL byte');
  if (value !== '' && SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A path on the remote host. A leading `~/` means the remote user's home: it is spelled
 * `"$HOME"/'rest'` so the home expands while the rest stays quoted.
 */
export class RemotePath {
  constructor(readonly path: string) {}

  /** The path as one shell word. */
  toShell(): string {
    if (this.path === '~') return '"$HOME"';
    if (this.path.startsWith('~/')) {
      const rest = this.path.slice(2);
      return rest === '' ? '"$HOME"/' : `"$HOME"/${shellQuote(rest)}`;
    }
    return shellQuote(this.path);
  }

  /** A path below this one; parts are plain names or relative paths. */
  join(...parts: string[]): RemotePath {
    const base = this.path.endsWith('/') ? this.path.slice(0, -1) : this.path;
    return new RemotePath([base, ...parts].join('/'));
  }

  /** The last component (the file name). */
  get name(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  toString(): string {
    return this.path;
  }
}

export type Word = string | RemotePath;

/** Joins words into one command line, quoting each. */
export function shellJoin(words: readonly Word[]): string {
  return words.map((word) => (typeof word === 'string' ? shellQuote(word) : word.toShell())).join(' ');
}

/** Commands joined so that each runs only if the one before succeeded. */
export function andThen(...commands: string[]): string {
  return commands.join(' && ');
}

/**
 * One word that sh, bash, dash, zsh and fish all read back as `value`. POSIX single quotes are not enough for fish,
 * where `\\` and `\'` are escapes even inside them; so each backslash and single quote stands outside the quotes,
 * escaped (`\\`, `\'`), which every one of those shells reads the same way, and the runs between are single-quoted.
 */
export function anyShellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a remote argument cannot contain a NUL byte');
  if (value === '') return "''";
  return value
    .split(/([\\'])/)
    .filter((part) => part !== '')
    .map((part) => (part === '\\' ? '\\\\' : part === "'" ? "\\'" : `'${part}'`))
    .join('');
}

/**
 * A command line as sent to sshd, which hands it to the user's login shell: that shell only replaces itself with
 * /bin/sh, so the command runs under POSIX sh whatever the login shell is (zsh fails on an unmatched glob, fish
 * parses another syntax). Stdin, the exit status and a killing signal all belong to /bin/sh then, as Ansible does.
 */
export function underPosixShell(command: string): string {
  return `exec /bin/sh -c ${anyShellQuote(command)}`;
}
