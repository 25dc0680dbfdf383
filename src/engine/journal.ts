// What this run changed, in order, with what is needed to undo it (taken from the facts before the change).
import type { RemotePath } from '../shell/quote.js';

export type JournalEntry =
  /** The template was (or may have been) replaced; the backup holds the original bytes. */
  | { kind: 'template-written'; backup: RemotePath; original: Buffer }
  /** `docker compose build` succeeded: the image now holds the new template. */
  | { kind: 'image-built' }
  /** `docker compose up` ran (or was started): the container may run the new config. */
  | { kind: 'container-recreated' };

/** Persists an entry on the host before the change it stands for is made. */
export type JournalWriter = (entry: JournalEntry) => Promise<void>;

/** An append-only record of the run's changes. Entries are recorded before the change they undo is made. */
export class Journal {
  private readonly list: JournalEntry[] = [];

  constructor(private readonly writer?: JournalWriter) {}

  /** Records an entry here and on the host; a failed host write stops the change it precedes. */
  async record(entry: JournalEntry): Promise<void> {
    if (this.list.some((existing) => existing.kind === entry.kind)) return;
    this.list.push(entry);
    await this.writer?.(entry);
  }

  /** Takes over an entry of an unfinished earlier run, so this run's rollback undoes it too. */
  adopt(entry: JournalEntry): void {
    if (!this.list.some((existing) => existing.kind === entry.kind)) this.list.push(entry);
  }

  /** Drops an entry whose change is known not to have happened. */
  forget(kind: JournalEntry['kind']): void {
    const index = this.list.findIndex((entry) => entry.kind === kind);
    if (index >= 0) this.list.splice(index, 1);
  }

  has(kind: JournalEntry['kind']): boolean {
    return this.list.some((entry) => entry.kind === kind);
  }

  get<K extends JournalEntry['kind']>(kind: K): Extract<JournalEntry, { kind: K }> | undefined {
    return this.list.find((entry): entry is Extract<JournalEntry, { kind: K }> => entry.kind === kind);
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  get entries(): readonly JournalEntry[] {
    return this.list;
  }
}
