// Who holds a lock, precisely enough to tell a live run from a dead one on this machine: a pid alone is not
// (PID namespaces share hostnames, pids are reused, a killed child can linger as a zombie).
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';

export interface ProcessIdentity {
  /** user@machine, for people. */
  by: string;
  pid: number;
  /** The kernel's boot id: a pid from another boot means nothing here. */
  bootId?: string;
  /** The PID namespace (`/proc/self/ns/pid`): a pid from another namespace cannot be looked up here. */
  pidNamespace?: string;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): tells a reused pid from the original process. */
  startTime?: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** State and start time of a process from /proc/<pid>/stat; undefined when there is no such process. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields after it start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
}

let self: ProcessIdentity | undefined;

/** The runs this process is running now: a lock of this process whose run is not here has been left behind. */
export const activeRuns = new Set<string>();

/** This process, as it records itself in a lock and the journal. */
export function whoAmI(): ProcessIdentity {
  if (self !== undefined) return self;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the machine name still says where the run came from.
  }
  const bootId = read('/proc/sys/kernel/random/boot_id');
  const pidNamespace = link('/proc/self/ns/pid');
  const startTime = procStat(process.pid)?.startTime;
  self = { by: `${user}@${hostname()}`, pid: process.pid, ...(bootId ? { bootId } : {}), ...(pidNamespace ? { pidNamespace } : {}), ...(startTime ? { startTime } : {}) };
  return self;
}

/**
 * Whether a holder is provably alive or provably gone, as seen from this process. 'unknown' whenever the proof
 * is missing: another machine, another boot or PID namespace, or a holder written without these fields.
 */
export function holderState(holder: Partial<ProcessIdentity> & { runId?: string }, me: ProcessIdentity = whoAmI()): 'alive' | 'gone' | 'unknown' {
  if (holder.by !== me.by || typeof holder.pid !== 'number') return 'unknown';
  // This very process (a fleet, a test, a library user): alive exactly while that run is.
  if (holder.pid === me.pid && holder.startTime !== undefined && holder.startTime === me.startTime && holder.bootId === me.bootId && holder.pidNamespace === me.pidNamespace) {
    return holder.runId !== undefined && activeRuns.has(holder.runId) ? 'alive' : 'gone';
  }
  if (holder.bootId === undefined || holder.bootId !== me.bootId) return 'unknown';
  if (holder.pidNamespace === undefined || holder.pidNamespace !== me.pidNamespace) return 'unknown';
  const stat = procStat(holder.pid);
  if (stat === undefined) return 'gone';
  // A zombie has exited: only its exit status waits to be reaped.
  if (stat.state === 'Z' || stat.state === 'X') return 'gone';
  if (holder.startTime !== undefined && stat.startTime !== holder.startTime) return 'gone';
  return holder.startTime === undefined ? 'unknown' : 'alive';
}
