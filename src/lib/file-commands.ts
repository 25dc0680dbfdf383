// Remote command lines for files, built in one place from small pieces (as Kamal's commands/ do); every word quoted.
import { RemotePath, shellJoin, shellQuote } from '../shell/quote.js';

/** Exit status of a guarded write when the guard fails: the file is not what the plan saw. */
export const GUARD_FAILED = 75;
/** Exit status of a restore when the backup no longer holds the bytes the journal recorded. */
export const BACKUP_CHANGED = 76;

/** Commands joined so that each runs only if the one before succeeded. */
export function all(...commands: string[]): string {
  return commands.join(' && ');
}

/** `cd` into a directory first. */
export function inDir(dir: RemotePath, command: string): string {
  return all(shellJoin(['cd', '--', dir]), command);
}

/** `cat` of a remote file: raw bytes, never trimmed. */
export function catCommand(path: RemotePath): string {
  return shellJoin(['cat', '--', path]);
}

/** The directory and file name of a path. */
export function splitPath(path: RemotePath): { dir: RemotePath; name: string } {
  const slash = path.path.lastIndexOf('/');
  return slash < 0 ? { dir: new RemotePath('.'), name: path.path } : { dir: new RemotePath(path.path.slice(0, slash) || '/'), name: path.path.slice(slash + 1) };
}

/** The temp file a run writes next to a file: hidden, named by the run, so a leftover says who left it. */
export function tempName(name: string, runId: string): string {
  return `.${name}.${runId}.tmp`;
}

// fsync the file, and the directory after a rename, so the rename survives a power cut (sync without
// arguments where `sync FILE` is not supported).
const syncFile = (name: string): string => `{ ${shellJoin(['sync', '--', name])} 2>/dev/null || sync; }`;
const syncDir = '{ sync -- . 2>/dev/null || sync; }';

/**
 * Writes stdin over a file atomically: a copy of the file (keeping mode and owner where the user may), the new
 * bytes, fsync, rename, fsync of the directory, then prints the file for the caller to compare. With
 * `unlessDiffersFrom`, refuses (GUARD_FAILED) unless the file still equals that file (compare-and-swap).
 */
export function atomicWriteCommand(path: RemotePath, runId: string, unlessDiffersFrom?: string | RemotePath, removeFirst: readonly RemotePath[] = []): string {
  const { dir, name } = splitPath(path);
  const tmp = tempName(name, runId);
  const guard = unlessDiffersFrom === undefined ? [] : [`{ ${shellJoin(['cmp', '-s', '--', name, unlessDiffersFrom])} || { echo 'the file changed on the host after it was read' >&2; exit ${GUARD_FAILED}; }; }`];
  const cleanup = removeFirst.length > 0 ? [shellJoin(['rm', '-f', '--', ...removeFirst])] : [];
  const write = `{ ${shellJoin(['cp', '-p', '--', name, tmp])} && cat > ${shellQuote(tmp)} && ${syncFile(tmp)} && ${shellJoin(['mv', '-f', '--', tmp, name])} && ${syncDir} || { rc=$?; ${shellJoin(['rm', '-f', '--', tmp])}; exit "$rc"; }; }`;
  return inDir(dir, all(...cleanup, ...guard, write, shellJoin(['cat', '--', name])));
}

/**
 * Copies a file to a backup that must not exist yet (ln fails then, so no backup is ever overwritten), through a
 * temp file so a half-written backup never carries the backup's name; prints the backup for the caller to compare.
 */
export function backupCommand(path: RemotePath, backupName: string, runId: string, removeFirst: readonly RemotePath[] = []): string {
  const { dir, name } = splitPath(path);
  const tmp = tempName(backupName, runId);
  return inDir(
    dir,
    all(
      ...(removeFirst.length > 0 ? [shellJoin(['rm', '-f', '--', ...removeFirst])] : []),
      shellJoin(['cp', '-p', '--', name, tmp]),
      `{ ${shellJoin(['ln', '--', tmp, backupName])}; rc=$?; ${shellJoin(['rm', '-f', '--', tmp])}; [ "$rc" -eq 0 ]; }`,
      shellJoin(['cat', '--', backupName]),
    ),
  );
}

const sha = (name: string): string => `$(sha256sum < ${shellQuote(name)} | cut -c1-64)`;

/**
 * Puts a backup's bytes back over a file in one command, compare-and-swap: only when the file holds `newSha256`
 * (this run's bytes) and the backup still holds `originalSha256`. Prints `still-original` when there is nothing to
 * do; exits GUARD_FAILED when the file holds a third party's bytes, BACKUP_CHANGED when the backup does.
 */
export function restoreCommand(path: RemotePath, backup: RemotePath, runId: string, originalSha256: string, newSha256: string): string {
  const { dir, name } = splitPath(path);
  const tmp = tempName(name, runId);
  const from = backup.toShell();
  return inDir(
    dir,
    [
      `c=${sha(name)} || exit 1`,
      `if [ "$c" = ${shellQuote(originalSha256)} ]; then echo still-original; exit 0; fi`,
      `[ "$c" = ${shellQuote(newSha256)} ] || { echo 'the file holds bytes that are neither the original nor this run'"'"'s' >&2; exit ${GUARD_FAILED}; }`,
      `b=$(sha256sum < ${from} | cut -c1-64) || exit 1`,
      `[ "$b" = ${shellQuote(originalSha256)} ] || { echo 'the backup no longer holds the original bytes' >&2; exit ${BACKUP_CHANGED}; }`,
      `{ ${shellJoin(['cp', '-p', '--', name, tmp])} && cat < ${from} > ${shellQuote(tmp)} && ${syncFile(tmp)} && ${shellJoin(['mv', '-f', '--', tmp, name])} && ${syncDir} || { rc=$?; ${shellJoin(['rm', '-f', '--', tmp])}; exit "$rc"; }; }`,
      'echo restored',
    ].join('; '),
  );
}

/**
 * Every file named `<name><suffix>` or `<name><suffix>.*` next to a file, framed as `name\nsize\nbytes` each, so
 * their bytes come back in the same round trip.
 */
export function framedBackupsCommand(path: RemotePath, suffix: string): string {
  const { dir, name } = splitPath(path);
  const prefix = name + suffix;
  return inDir(dir, `for f in ${shellQuote(prefix)} ${shellQuote(`${prefix}.`)}*; do [ -f "$f" ] || continue; printf '%s\\n%s\\n' "$f" "$(wc -c < "$f")"; cat -- "$f"; done`);
}

/** Reads `name\nsize\nbytes…` frames; stops at anything malformed (a name with a line break, a cut output). */
export function parseFramedFiles(output: Buffer): { name: string; content: Buffer }[] {
  const files: { name: string; content: Buffer }[] = [];
  let at = 0;
  while (at < output.length) {
    const nameEnd = output.indexOf(10, at);
    const sizeEnd = nameEnd < 0 ? -1 : output.indexOf(10, nameEnd + 1);
    if (sizeEnd < 0) break;
    const size = Number(output.subarray(nameEnd + 1, sizeEnd).toString('latin1').trim());
    if (!Number.isInteger(size) || size < 0 || sizeEnd + 1 + size > output.length) break;
    files.push({ name: output.subarray(at, nameEnd).toString('utf8'), content: output.subarray(sizeEnd + 1, sizeEnd + 1 + size) });
    at = sizeEnd + 1 + size;
  }
  return files;
}

/**
 * What replacing a file in place would change besides its bytes: whether it is a symlink (and to what), its owner,
 * group and mode, who the SSH user is, and temp files an interrupted run left beside it.
 */
export function fileStatCommand(path: RemotePath): string {
  const { dir, name } = splitPath(path);
  const n = shellQuote(name);
  return inDir(
    dir,
    [
      `if [ -L ${n} ]; then printf 'link %s\\n' "$(readlink -f -- ${n})"; fi`,
      `printf 'me %s %s\\n' "$(id -u)" "$(id -G)"`,
      `stat -L -c 'file %u %g %U %G %a' -- ${n}`,
      `for f in ${shellQuote(`.${name}.`)}*.tmp; do [ -e "$f" ] && printf 'leftover %s\\n' "$f"; done; true`,
    ].join('; '),
  );
}

export interface FileStat {
  /** The real path when the file is a symlink. */
  linkTo: string | undefined;
  uid: number;
  groups: number[];
  owner: { uid: number; gid: number; user: string; group: string };
  mode: string;
  leftovers: string[];
}

export function parseFileStat(text: string): FileStat | undefined {
  const file = /^file (\d+) (\d+) (\S+) (\S+) (\d+)$/m.exec(text);
  const me = /^me (\d+)((?: \d+)*)\s*$/m.exec(text);
  if (file === null || me === null) return undefined;
  return {
    linkTo: /^link (.+)$/m.exec(text)?.[1],
    uid: Number(me[1]),
    groups: me[2]!.trim().split(/\s+/).filter(Boolean).map(Number),
    owner: { uid: Number(file[1]), gid: Number(file[2]), user: file[3]!, group: file[4]! },
    mode: file[5]!,
    leftovers: [...text.matchAll(/^leftover (.+)$/gm)].map((m) => m[1]!),
  };
}
