// Reads everything the plan needs in one burst of concurrent channels: no writes, ever.
import type { ExecResult } from '../transport/transport.js';
import type { Fact } from './types.js';

/** The facts of one run, by id, as their parse made them. */
export class FactStore {
  private readonly values = new Map<string, unknown>();

  set(fact: Fact<unknown>, value: unknown): void {
    this.values.set(fact.id, value);
  }

  get<T>(fact: Fact<T>): T {
    if (!this.values.has(fact.id)) throw new Error(`internal: the fact ${fact.id} was not gathered (declare it in the step's or check's facts)`);
    return this.values.get(fact.id) as T;
  }

  has(fact: Fact<unknown>): boolean {
    return this.values.has(fact.id);
  }
}

/** Facts with the same id are one fact; the first declaration wins and keeps its place in the order. */
export function uniqueFacts(facts: readonly Fact<unknown>[]): Fact<unknown>[] {
  const seen = new Map<string, Fact<unknown>>();
  for (const fact of facts) if (!seen.has(fact.id)) seen.set(fact.id, fact);
  return [...seen.values()];
}

/**
 * Runs every fact's command at once (Session.execAll), then parses the answers in declaration order, so the first
 * failed precondition in that order is the one reported. A lost connection or an interrupt wins over any parse.
 */
export async function gatherFacts(execAll: (commands: readonly string[]) => Promise<ExecResult[]>, facts: readonly Fact<unknown>[], store = new FactStore()): Promise<FactStore> {
  const unique = uniqueFacts(facts).filter((fact) => !store.has(fact));
  const results = unique.length > 0 ? await execAll(unique.map((fact) => fact.command)) : [];
  unique.forEach((fact, i) => store.set(fact, fact.parse(results[i]!)));
  return store;
}
