// What the tool keeps on the host, outside the project's git tree: a lock and a journal of runs (JSON lines)
// under ~/.apply-ws-fix/<project>/, so a second run is refused and an unfinished run is found by the next one.
import { hostname, userInfo } from 'node:os';
import { RemotePath, shellJoin } from '../shell/quote.js';

/** Exit status of the lock command when another run holds the lock. */
export const LOCKED = 73;

export interface HostStatePaths {
  dir: RemotePath;
  lock: RemotePath;
  holder: RemotePath;
  journal: RemotePath;
}

/** One state directory per project directory and service, so two projects on a host never share a lock. */
export function hostStatePaths(projectDir: string, service: string): HostStatePaths {
  const key = `${projectDir.replace(/^~\/?/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'home'}-${service}`;
  const dir = new RemotePath(`~/.apply-ws-fix/${key}`);
  const lock = dir.join('lock');
  return { dir, lock, holder: lock.join('holder.json'), journal: dir.join('journal.jsonl') };
}

export interface LockHolder {
  runId: string;
  action: string;
  by: string;
  pid: number;
  startedAt: string;
}

/** Who this process is, for the lock and the journal: user@machine and pid. */
export function whoAmI(): { by: string; pid: number } {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the machine name still says where the run came from.
  }
  return { by: `${user}@${hostname()}`, pid: process.pid };
}

/** mkdir is atomic: whoever creates the lock directory holds the lock; the others read who does. */
export function acquireLockCommand(paths: HostStatePaths, holder: LockHolder): string {
  return (
    `${shellJoin(['mkdir', '-p', '--', paths.dir])} && ` +
    `if ${shellJoin(['mkdir', '--', paths.lock])} 2>/dev/null; then ${shellJoin(['printf', '%s\\n', JSON.stringify(holder)])} > ${paths.holder.toShell()}; ` +
    `else ${shellJoin(['cat', '--', paths.holder])} 2>/dev/null; exit ${LOCKED}; fi`
  );
}

/** Removes the lock only if this run still holds it. */
export function releaseLockCommand(paths: HostStatePaths, runId: string): string {
  return `if ${shellJoin(['grep', '-qF', '--', `"runId":"${runId}"`, paths.holder])} 2>/dev/null; then ${shellJoin(['rm', '-rf', '--', paths.lock])}; fi`;
}

/** --force-unlock: prints the holder it removes. */
export function forceUnlockCommand(paths: HostStatePaths): string {
  return `${shellJoin(['cat', '--', paths.holder])} 2>/dev/null; ${shellJoin(['rm', '-rf', '--', paths.lock])}`;
}

/** Appends JSON lines to the journal in one write. */
export function appendJournalCommand(paths: HostStatePaths, lines: readonly string[]): string {
  return `${shellJoin(['mkdir', '-p', '--', paths.dir])} && ${shellJoin(['printf', '%s\\n', ...lines])} >> ${paths.journal.toShell()}`;
}

/** The journal's recent lines (a missing journal reads as empty). */
export function readJournalCommand(paths: HostStatePaths, lines = 500): string {
  return `${shellJoin(['tail', '-n', String(lines), '--', paths.journal])} 2>/dev/null || true`;
}

export function parseHolder(text: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(text.trim()) as Partial<LockHolder>;
    return typeof parsed.runId === 'string' ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}
