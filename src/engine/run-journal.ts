// The journal's events, and how the next run reads them: which run was left unfinished, and what it had done.

export type JournalEvent =
  | { event: 'start'; runId: string; at: string; action: string; by: string; pid: number; runbook: string; dir: string; service: string; templateSha256: string; newSha256: string }
  | { event: 'backup'; runId: string; at: string; name: string; sha256: string }
  | { event: 'template-written'; runId: string; at: string; backup: string; originalSha256: string; newSha256: string }
  | { event: 'image-built'; runId: string; at: string }
  | { event: 'container-recreated'; runId: string; at: string }
  | { event: 'rollback'; runId: string; at: string; restored: boolean; actions: { id: string; status: string }[] }
  | { event: 'taken-over'; runId: string; at: string; by: string }
  | { event: 'end'; runId: string; at: string; outcome: string; exitCode: number };

/** A run that started and never wrote its end: crashed, lost its connection, or was killed. */
export interface UnfinishedRun {
  runId: string;
  action: string;
  by: string;
  startedAt: string;
  /** The backup its template write used, when it wrote the template. */
  backup: string | undefined;
  imageBuilt: boolean;
  containerRecreated: boolean;
}

/** Journal lines → events; lines that are not events (a torn last write) are skipped. */
export function parseJournal(text: string): JournalEvent[] {
  const events: JournalEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as JournalEvent;
      if (typeof parsed.event === 'string' && typeof parsed.runId === 'string') events.push(parsed);
    } catch {
      // A line cut short by a crash mid-write: the events before it still count.
    }
  }
  return events;
}

/** The most recent run, other than `self`, that started but has neither an end nor a taker. */
export function findUnfinished(events: readonly JournalEvent[], self: string): UnfinishedRun | undefined {
  const closed = new Set(events.filter((e) => e.event === 'end' || e.event === 'taken-over').map((e) => e.runId));
  const start = [...events].reverse().find((e): e is Extract<JournalEvent, { event: 'start' }> => e.event === 'start' && e.runId !== self && !closed.has(e.runId));
  if (start === undefined) return undefined;
  const own = events.filter((e) => e.runId === start.runId);
  const written = own.find((e): e is Extract<JournalEvent, { event: 'template-written' }> => e.event === 'template-written');
  return {
    runId: start.runId,
    action: start.action,
    by: start.by,
    startedAt: start.at,
    backup: written?.backup,
    imageBuilt: own.some((e) => e.event === 'image-built'),
    containerRecreated: own.some((e) => e.event === 'container-recreated'),
  };
}

/** What an unfinished run had done, in words. */
export function describeUnfinished(run: UnfinishedRun): string {
  const did = [run.backup ? `wrote the template (backup ${run.backup})` : '', run.imageBuilt ? 'rebuilt the image' : '', run.containerRecreated ? 'recreated the container' : ''].filter(Boolean);
  return `run ${run.runId} (${run.action} by ${run.by}, started ${run.startedAt}) did not finish${did.length ? `; it had ${did.join(', ')}` : ' and had changed nothing'}`;
}
