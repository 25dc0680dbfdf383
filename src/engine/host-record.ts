// The run's footprint on the host: the lock it holds and the journal lines it writes, from start to end.
import { sha256 } from '../report/checksum.js';
import { StartError, StepError } from '../errors.js';
import { firstLine, succeeded } from '../transport/transport.js';
import type { Session } from './context.js';
import { LOCKED, acquireLockCommand, appendJournalCommand, forceUnlockCommand, parseHolder, releaseLockCommand, whoAmI, type LockHolder } from './host-state.js';
import type { JournalEntry } from './journal.js';
import type { JournalEvent, UnfinishedRun } from './run-journal.js';

// A lock held by a process of this machine that no longer exists was left by a crash: safe to take over.
function deadHere(holder: LockHolder): boolean {
  if (holder.by !== whoAmI().by) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function age(since: string): string {
  const minutes = Math.round((Date.now() - Date.parse(since)) / 60_000);
  return Number.isFinite(minutes) ? (minutes < 1 ? 'less than a minute ago' : `${minutes} min ago`) : `at ${since}`;
}

export class HostRecord {
  private locked = false;
  private started = false;

  constructor(private readonly session: Session) {}

  private event<E extends JournalEvent['event']>(event: E, fields: Omit<Extract<JournalEvent, { event: E }>, 'event' | 'runId' | 'at'>): string {
    return JSON.stringify({ event, runId: this.session.runId, at: new Date().toISOString(), ...fields });
  }

  private async append(lines: string[], stepId: string): Promise<void> {
    const result = await this.session.exec(appendJournalCommand(this.session.state, lines));
    if (!succeeded(result)) throw new StepError(stepId, `cannot write the run journal ${this.session.state.journal}: ${firstLine(result)}`, 'Check free disk space and permissions in the remote home directory.');
  }

  /** Takes the host's run lock; returns a note when a dead run's lock was taken over. */
  async lock(): Promise<string | undefined> {
    const { state, options, runId } = this.session;
    let note: string | undefined;
    if (options.forceUnlock) {
      const removed = await this.session.exec(forceUnlockCommand(state));
      const holder = parseHolder(removed.stdout.toString('utf8'));
      if (holder) note = `removed the lock of run ${holder.runId} (${holder.by}, started ${age(holder.startedAt)}) as --force-unlock asked`;
    }
    const holder: LockHolder = { runId, action: options.action, ...whoAmI(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await this.session.exec(acquireLockCommand(state, holder));
      if (succeeded(result)) {
        this.locked = true;
        return note;
      }
      if (result.code !== LOCKED) throw new StartError(`cannot take the run lock ${state.lock}: ${firstLine(result)}`, 'lock', 'Check permissions in the remote home directory.');
      const other = parseHolder(result.stdout.toString('utf8'));
      if (other && attempt === 0 && deadHere(other)) {
        await this.session.exec(forceUnlockCommand(state));
        note = `took over the lock of run ${other.runId}: its process ${other.pid} on this machine is gone`;
        continue;
      }
      const who = other ? `run ${other.runId} (${other.action} by ${other.by}, pid ${other.pid}, started ${age(other.startedAt)})` : 'an unknown run (no holder recorded)';
      throw new StartError(`another run holds the lock on ${this.session.label}: ${who}`, 'locked', `Wait for it to finish. If it died (a crash, a lost laptop), run again with --force-unlock: the next run finds what it left unfinished.`);
    }
    throw new StartError('cannot take the run lock', 'lock');
  }

  /** Writes a journal entry before the change it stands for; the first one also writes the run's start. */
  readonly writer = async (entry: JournalEntry): Promise<void> => {
    const lines: string[] = [];
    if (!this.started) {
      const { options, runbook } = this.session;
      lines.push(
        this.event('start', {
          action: options.action,
          ...whoAmI(),
          runbook: runbook.id,
          dir: options.dir,
          service: options.service,
          templateSha256: entry.kind === 'template-written' ? sha256(entry.original) : '',
          newSha256: sha256(this.session.desired),
        }),
      );
    }
    if (entry.kind === 'template-written') {
      lines.push(this.event('template-written', { backup: entry.backup.name, originalSha256: sha256(entry.original), newSha256: sha256(this.session.desired) }));
    } else {
      lines.push(this.event(entry.kind, {}));
    }
    await this.append(lines, entry.kind === 'template-written' ? 'write-template' : entry.kind === 'image-built' ? 'build' : 'deploy');
    this.started = true;
  };

  /** Marks an unfinished earlier run as taken over by this one, so no later run finds it again. */
  async takeOver(unfinished: UnfinishedRun): Promise<void> {
    await this.append([JSON.stringify({ event: 'taken-over', runId: unfinished.runId, at: new Date().toISOString(), by: this.session.runId })], 'preconditions');
  }

  /** Writes the end (and the rollback) of a run that wrote anything, and releases the lock. Never throws. */
  async close(end: { outcome: string; exitCode: number; rollback: { restored: boolean; actions: { id: string; status: string }[] } | null }): Promise<void> {
    const { state, runId } = this.session;
    const parts: string[] = [];
    if (this.started) {
      const lines = [
        ...(end.rollback ? [this.event('rollback', { restored: end.rollback.restored, actions: end.rollback.actions.map(({ id, status }) => ({ id, status })) })] : []),
        this.event('end', { outcome: end.outcome, exitCode: end.exitCode }),
      ];
      parts.push(appendJournalCommand(state, lines));
    }
    if (this.locked) parts.push(releaseLockCommand(state, runId));
    if (parts.length === 0) return;
    await this.session.link.transport.exec(parts.join('; '), { timeoutMs: this.session.options.commandTimeoutMs }).catch(() => undefined);
  }
}
