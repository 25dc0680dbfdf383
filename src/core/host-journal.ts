// What the tool keeps on the host, outside the project's tree: a lock and a journal of runs (JSON lines) in
// ~/.apply-ws-fix/<project>-<checksum>/, keyed by the project directory as the host resolves it (`cd DIR && pwd -P`),
// so `~/app`, `~/app/` and `/home/u/app` are one project with one lock. The lock is a symlink to the
// holder's run id, made after the holder's record is written: taking it is all or nothing (a full disk leaves no lock).
import { StartError, StepError } from '../errors.js';
import { RemotePath, shellJoin, shellQuote } from '../shell/quote.js';
import { firstLine, succeeded, type ExecResult } from '../transport/transport.js';
import { activeRuns, holderState, whoAmI, type ProcessIdentity } from './process-identity.js';
import type { Session } from './session.js';
import type { Fact, JournalEvent } from './types.js';

/** Exit status of the lock command when another run holds the lock. */
export const LOCKED = 73;
/** Exit status when the project directory does not exist (cd failed): nothing is created then. */
export const NO_PROJECT = 66;
/** Exit status, with JOURNAL_FAILED_MARK on stderr, when a journal line could not be written: the command did not run. */
export const JOURNAL_FAILED = 74;
const JOURNAL_FAILED_MARK = 'apply-ws-fix: cannot write the run journal';

/** How many journal lines a run reads back. */
const JOURNAL_TAIL = 500;

// Sets $p (the project as the host resolves it) and $s (its state directory); exits NO_PROJECT if cd fails.
function stateScript(project: RemotePath): string {
  return (
    `p=$(${shellJoin(['cd', '--', project])} && pwd -P) || exit ${NO_PROJECT}; ` +
    `k=$(printf '%s' "\${p##*/}" | tr -c 'A-Za-z0-9._-' _ | cut -c1-40); ` +
    `s="$HOME/.apply-ws-fix/$k-$(printf '%s' "$p" | cksum | cut -d' ' -f1)"; printf 'state %s\\nproject %s\\n' "$s" "$p"`
  );
}

export interface LockHolder extends ProcessIdentity {
  runId: string;
  action: string;
  startedAt: string;
}

export interface StateLocation {
  /** The state directory (absolute, as the host spelled it). */
  dir: RemotePath;
  /** The project directory as the host resolves it. */
  project: string;
}

/** The lock command: writes the holder's record, then links the lock to it; on LOCKED, prints the holder. */
export function lockCommand(project: RemotePath, holder: LockHolder): string {
  const record = `"$s/holders/"${shellQuote(`${holder.runId}.json`)}`;
  return (
    `${stateScript(project)}; mkdir -p -- "$s/holders" && ${shellJoin(['printf', '%s\\n', JSON.stringify(holder)])} > ${record} || exit 1; ` +
    `if ln -s -- ${shellQuote(holder.runId)} "$s/lock" 2>/dev/null; then exit 0; fi; rm -f -- ${record}; ` +
    `h=$(readlink -- "$s/lock") || exit 1; printf 'holder %s\\n' "$h"; cat -- "$s/holders/$h.json" 2>/dev/null; exit ${LOCKED}`
  );
}

/** Removes the lock only while it still names `runId` (this run's, or the one --force-unlock judged dead). */
export function unlockCommand(state: RemotePath, runId: string): string {
  const lock = state.join('lock');
  return `if [ "$(readlink -- ${lock.toShell()} 2>/dev/null)" = ${shellQuote(runId)} ]; then rm -f -- ${lock.toShell()}; fi; rm -f -- ${state.join('holders', `${runId}.json`).toShell()}`;
}

/** Appends JSON lines to the journal in one write; a failure prints the mark and exits JOURNAL_FAILED. */
function appendCommand(state: RemotePath, lines: readonly string[]): string {
  return `{ ${shellJoin(['printf', '%s\\n', ...lines])} >> ${state.join('journal.jsonl').toShell()} || { echo ${shellQuote(JOURNAL_FAILED_MARK)} >&2; exit ${JOURNAL_FAILED}; }; }`;
}

/** Whether a result is a journal write that failed (the command after it did not run). */
export function journalFailed(result: ExecResult): boolean {
  return result.code === JOURNAL_FAILED && result.stderr.toString('utf8').includes(JOURNAL_FAILED_MARK);
}

function parseLocation(text: string): StateLocation | undefined {
  const state = /^state (.*)$/m.exec(text)?.[1];
  const project = /^project (.*)$/m.exec(text)?.[1];
  return state === undefined || project === undefined ? undefined : { dir: new RemotePath(state), project };
}

/** Journal lines → events; lines that are not events (a torn last write) are skipped. */
export function parseJournal(text: string): (JournalEvent | LegacyEvent)[] {
  const events: (JournalEvent | LegacyEvent)[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as { event?: unknown; runId?: unknown };
      if (typeof parsed.event === 'string' && typeof parsed.runId === 'string') events.push(parsed as JournalEvent);
    } catch {
      // A line cut short by a crash mid-write: the events before it still count.
    }
  }
  return events;
}

/** An event an older release wrote (its own kinds of change); the runbook reads it as a step record. */
export interface LegacyEvent {
  event: string;
  runId: string;
  at: string;
  [key: string]: unknown;
}

export interface JournalRead {
  location: StateLocation | undefined;
  events: (JournalEvent | LegacyEvent)[];
}

/** The journal as a fact: this project's journal, after the journals an older release kept for it. */
export function journalFact(project: RemotePath, legacyDirs: readonly string[]): Fact<JournalRead> {
  const legacy = legacyDirs.map((dir) => `tail -n ${JOURNAL_TAIL} -- "$HOME"/${shellQuote(`.apply-ws-fix/${dir}/journal.jsonl`)} 2>/dev/null; `).join('');
  return {
    id: `core:journal:${project.path}`,
    command: `${stateScript(project)}; ${legacy}tail -n ${JOURNAL_TAIL} -- "$s/journal.jsonl" 2>/dev/null; exit 0`,
    parse(result) {
      const text = result.stdout.toString('utf8');
      if (result.code === NO_PROJECT) throw new StartError(`the project directory ${project.path} does not exist: ${firstLine(result)}`, 'precondition-dir', 'Check --dir (a leading ~/ is the remote user\'s home).');
      return { location: parseLocation(text), events: parseJournal(text) };
    },
  };
}

function parseHolder(text: string): { runId: string | undefined; holder: Partial<LockHolder> | undefined } {
  const runId = /^holder (.*)$/m.exec(text)?.[1];
  const json = text.split('\n').find((line) => line.startsWith('{'));
  try {
    return { runId, holder: json ? (JSON.parse(json) as Partial<LockHolder>) : undefined };
  } catch {
    return { runId, holder: undefined };
  }
}

function age(since: string | undefined): string {
  const minutes = Math.round((Date.now() - Date.parse(since ?? '')) / 60_000);
  return Number.isFinite(minutes) ? (minutes < 1 ? 'less than a minute ago' : `${minutes} min ago`) : 'at an unknown time';
}

/** A change this run (or an unfinished run it took over) made, with what its undo needs. */
export interface JournalEntry {
  runId: string;
  step: string;
  kind: string;
  record: unknown;
  adopted: boolean;
}

/**
 * The run's footprint on the host: its lock, and the journal lines it writes. Lines are not sent on their own:
 * they ride, in the same exec, in front of the command whose change they announce (one round trip, and the
 * command does not run if the line could not be written).
 */
export class HostJournal {
  private location: StateLocation | undefined;
  private locked = false;
  private started = false;
  private pending: string[] = [];
  private readonly list: JournalEntry[] = [];

  constructor(
    private readonly session: Session,
    private readonly project: RemotePath,
    private readonly start: { runbook: string; params: Record<string, unknown> },
  ) {}

  private event(fields: Record<string, unknown>): string {
    return JSON.stringify({ ...fields, runId: this.session.runId, at: new Date().toISOString() });
  }

  /** The state directory, once the lock or the journal read has told it. */
  get state(): StateLocation | undefined {
    return this.location;
  }

  learn(location: StateLocation | undefined): void {
    this.location ??= location;
  }

  /** Takes the lock: a dead holder's lock is taken over, --force-unlock removes one not provably alive. Returns a note. */
  async lock(): Promise<string | undefined> {
    const { options, runId } = this.session;
    const holder: LockHolder = { runId, action: options.action, ...whoAmI(), startedAt: new Date().toISOString() };
    let note: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await this.session.exec(lockCommand(this.project, holder));
      const text = result.stdout.toString('utf8');
      this.learn(parseLocation(text));
      if (succeeded(result)) {
        this.locked = true;
        activeRuns.add(runId);
        return note;
      }
      if (result.code === NO_PROJECT) throw new StartError(`the project directory ${this.project.path} does not exist on ${this.session.label}: ${firstLine(result)}`, 'precondition-dir', 'Check --dir (a leading ~/ is the remote user\'s home).');
      if (result.code !== LOCKED || this.location === undefined) throw new StartError(`cannot take the run lock on ${this.session.label}: ${firstLine(result)}`, 'lock', 'Check free disk space and permissions in the remote home directory (~/.apply-ws-fix).');
      const other = parseHolder(text);
      const who = other.holder?.runId
        ? `run ${other.holder.runId} (${other.holder.action} by ${other.holder.by}, pid ${other.holder.pid}, started ${age(other.holder.startedAt)})`
        : `run ${other.runId ?? 'unknown'} (no holder record)`;
      const state = other.holder ? holderState(other.holder) : 'unknown';
      if (state === 'gone') {
        note = `took over the lock of ${who}: that process on this machine is gone`;
      } else if (options.forceUnlock && state !== 'alive') {
        note = `removed the lock of ${who} as --force-unlock asked`;
      } else if (options.forceUnlock) {
        throw new StartError(`another run holds the lock on ${this.session.label}: ${who}, and it is alive on this machine`, 'locked', 'Wait for it to finish (--force-unlock never removes the lock of a run that is provably alive).');
      } else {
        throw new StartError(
          `another run holds the lock on ${this.session.label}: ${who}`,
          'locked',
          'Wait for it to finish. If it died (a crash, a lost laptop), run again with --force-unlock: the next run finds what it left unfinished.',
        );
      }
      await this.session.exec(unlockCommand(this.location.dir, other.runId ?? ''));
    }
    throw new StartError(`cannot take the run lock on ${this.session.label}: it keeps being taken`, 'lock');
  }

  /** Queues the run's start, once: every run that changes anything is in the journal, with or without records. */
  begin(): void {
    if (this.started) return;
    const { options } = this.session;
    this.pending.push(this.event({ event: 'start', action: options.action, ...whoAmI(), runbook: this.start.runbook, project: this.location?.project, params: this.start.params }));
    this.started = true;
  }

  /** Queues this step's undo record (and the run's start, the first time); it rides on the next command. */
  record(step: string, kind: string, record: unknown): void {
    this.begin();
    this.pending.push(this.event({ event: 'step', step, kind, record }));
    this.list.push({ runId: this.session.runId, step, kind, record, adopted: false });
  }

  /** Marks an unfinished earlier run as taken over by this one; its changes become this run's to undo. */
  adopt(runId: string, entries: readonly { step: string; kind: string; record: unknown }[]): void {
    this.pending.push(JSON.stringify({ event: 'taken-over', runId, at: new Date().toISOString(), by: this.session.runId }));
    for (const entry of entries) this.list.push({ runId, ...entry, adopted: true });
  }

  /** Drops this run's last record of a step whose change is known not to have happened. */
  forget(step: string): void {
    const index = this.list.findLastIndex((entry) => entry.step === step && !entry.adopted);
    if (index >= 0) this.list.splice(index, 1);
  }

  has(step: string): boolean {
    return this.list.some((entry) => entry.step === step);
  }

  get entries(): readonly JournalEntry[] {
    return this.list;
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** The pending lines as a prefix for the next command ('' when none); they count as written from here on. */
  takePrefix(): string {
    if (this.pending.length === 0 || this.location === undefined) return '';
    const prefix = `${appendCommand(this.location.dir, this.pending)}; `;
    this.pending = [];
    return prefix;
  }

  /** Throws the journal failure as the step's error. */
  static check(result: ExecResult, stepId: string, journal: RemotePath | undefined): void {
    if (journalFailed(result)) {
      throw new StepError(stepId, `cannot write the run journal ${journal?.join('journal.jsonl').path ?? ''}: ${firstLine(result)}; the change was not made`, 'Check free disk space and permissions in the remote home directory.');
    }
  }

  /** Writes the end (and the rollback) of a run that wrote anything, and releases the lock. Never throws. */
  async close(end: { outcome: string; exitCode: number; rollback: { restored: boolean; actions: { id: string; status: string }[] } | null }): Promise<void> {
    activeRuns.delete(this.session.runId);
    if (this.location === undefined) return;
    const lines = [...this.pending];
    this.pending = [];
    if (this.started || lines.length > 0) {
      if (end.rollback) lines.push(this.event({ event: 'rollback', restored: end.rollback.restored, actions: end.rollback.actions.map(({ id, status }) => ({ id, status })) }));
      lines.push(this.event({ event: 'end', outcome: end.outcome, exitCode: end.exitCode }));
    }
    const parts = [...(lines.length > 0 ? [appendCommand(this.location.dir, lines)] : []), ...(this.locked ? [unlockCommand(this.location.dir, this.session.runId)] : [])];
    if (parts.length === 0) return;
    await this.session.transport.exec(parts.join('; '), { timeoutMs: this.session.options.commandTimeoutMs }).catch(() => undefined);
    this.locked = false;
  }
}

/** A run that started and never wrote its end: crashed, lost its connection, or was killed. */
export interface UnfinishedRun {
  runId: string;
  action: string;
  by: string;
  startedAt: string;
  /** Its journaled changes, as step records (an older release's events translated by the runbook). */
  entries: { step: string; kind: string; record: unknown }[];
}

export type LegacyReader = (event: LegacyEvent) => { step: string; record: unknown } | undefined;

/** A run's journaled changes, in order: its step events, and an older release's events as the runbook reads them. */
export function stepsOf(events: readonly (JournalEvent | LegacyEvent)[], runId: string, legacy?: LegacyReader): UnfinishedRun['entries'] {
  const entries: UnfinishedRun['entries'] = [];
  for (const e of events) {
    if (e.runId !== runId) continue;
    if (e.event === 'step') {
      const step = e as Extract<JournalEvent, { event: 'step' }>;
      entries.push({ step: step.step, kind: step.kind, record: step.record });
    } else if (!['start', 'end', 'rollback', 'taken-over'].includes(e.event)) {
      const read = legacy?.(e as LegacyEvent);
      if (read) entries.push({ ...read, kind: e.event });
    }
  }
  return entries;
}

/** The most recent run, other than `self`, that started but has neither an end nor a taker. */
export function findUnfinished(events: readonly (JournalEvent | LegacyEvent)[], self: string, legacy?: LegacyReader, runbook?: string): UnfinishedRun | undefined {
  const closed = new Set(events.filter((e) => e.event === 'end' || e.event === 'taken-over').map((e) => e.runId));
  // Only a run of the same runbook: its step ids are this runbook's, so its undo records can be undone here.
  const start = [...events]
    .reverse()
    .find((e) => e.event === 'start' && e.runId !== self && !closed.has(e.runId) && (runbook === undefined || (e as { runbook?: string }).runbook === runbook)) as Extract<JournalEvent, { event: 'start' }> | undefined;
  if (start === undefined) return undefined;
  return { runId: start.runId, action: start.action, by: start.by, startedAt: start.at, entries: stepsOf(events, start.runId, legacy) };
}

/**
 * The last run of `runbook` that applied, with its journaled changes; null when a rollback of it came after, undefined
 * when none applied. Several runbooks may share a project (and its journal): another runbook's runs are not this
 * one's to undo. A run without a runbook name (an older release's) counts for a runbook that reads that release's journal.
 */
export function lastApplied(events: readonly (JournalEvent | LegacyEvent)[], legacy?: LegacyReader, runbook?: string): UnfinishedRun | null | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.event !== 'end') continue;
    const end = e as Extract<JournalEvent, { event: 'end' }>;
    const start = events.find((s) => s.event === 'start' && s.runId === end.runId) as Extract<JournalEvent, { event: 'start' }> | undefined;
    if (runbook !== undefined && (start?.runbook === undefined ? legacy === undefined : start.runbook !== runbook)) continue;
    if (end.outcome === 'rolled-back' || end.outcome === 'nothing-to-roll-back') return null;
    if (end.outcome !== 'applied') continue;
    return { runId: end.runId, action: start?.action ?? 'apply', by: start?.by ?? 'unknown', startedAt: start?.at ?? end.at, entries: stepsOf(events, end.runId, legacy) };
  }
  return undefined;
}
