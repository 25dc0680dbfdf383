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
