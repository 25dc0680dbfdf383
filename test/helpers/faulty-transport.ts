// A transport that breaks on purpose, around a real one: a channel closed without an exit status, a command that
// hangs past its timeout, a plain "Not connected" from node-ssh, or a hook that acts on the host at a given command.
import { CommandTimeoutError } from '../../src/errors.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/transport.js';

export type Fault =
  /** The channel closes with no exit status, after the command ran. */
  | { kind: 'no-exit-status' }
  /** The command never answers: it times out (it does not run). */
  | { kind: 'hang' }
  /** node-ssh's own words for a connection that dropped (the command does not run). */
  | { kind: 'not-connected' }
  /** A hook runs before the command goes out (someone else's edit, a signal). */
  | { kind: 'before'; run: () => Promise<void> | void };

export interface FaultRule {
  /** Which command: a substring or a predicate; `nth` counts matches from 1. */
  match: string | ((command: string) => boolean);
  nth?: number;
  fault: Fault;
}

/** Wraps a transport; each rule fires once, on the nth command it matches. Every command seen is recorded. */
export function faulty(inner: Transport, rules: FaultRule[], seen: string[] = []): Transport {
  const counts = rules.map(() => 0);
  const fired = rules.map(() => false);
  return {
    label: inner.label,
    close: () => inner.close(),
    async exec(command: string, options?: ExecOptions): Promise<ExecResult> {
      seen.push(command);
      for (const [i, rule] of rules.entries()) {
        const hit = typeof rule.match === 'string' ? command.includes(rule.match) : rule.match(command);
        if (!hit || fired[i]) continue;
        counts[i]! += 1;
        if (counts[i] !== (rule.nth ?? 1)) continue;
        fired[i] = true;
        const { fault } = rule;
        if (fault.kind === 'hang') throw new CommandTimeoutError(inner.label, command, options?.timeoutMs ?? 0);
        if (fault.kind === 'not-connected') throw new Error('Not connected to server');
        if (fault.kind === 'before') await fault.run();
        if (fault.kind === 'no-exit-status') {
          const result = await inner.exec(command, options);
          return { ...result, code: null, signal: null };
        }
      }
      return inner.exec(command, options);
    },
  };
}
