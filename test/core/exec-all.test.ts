// Session.execAll: read-only commands go as one remote command on a host shell, and one by one otherwise; either way
// each caller gets its own command's result, --verbose shows each command, and a lost connection is not hidden.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/core/session.js';
import { ConnectionLostError } from '../../src/errors.js';
import { BATCH_UNAVAILABLE } from '../../src/shell/batch.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/transport.js';
import { runOptions } from '../helpers/context.js';

const result = (command: string, code: number | null, stdout = '', stderr = ''): ExecResult => ({ command, code, signal: null, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), durationMs: 5 });

// A host whose commands echo their own text, and whose batches fail as `batch` says.
function host(runsShell: boolean, batch: (command: string) => ExecResult | 'lost'): Transport & { seen: string[] } {
  const seen: string[] = [];
  return {
    label: 'test@host:22',
    runsShell,
    seen,
    close: async () => {},
    async exec(command: string, _options?: ExecOptions): Promise<ExecResult> {
      seen.push(command);
      if (!command.includes('@apply-ws-fix-batch')) return result(command, 0, `ran ${command}`);
      const answer = batch(command);
      if (answer === 'lost') throw new Error('Not connected to server');
      return answer;
    },
  };
}

function sessionOn(transport: Transport, lines: string[] = []): Session {
  return new Session({ options: runOptions({ verbose: true }), transport, interrupt: { signal: null }, printable: [], secrets: [], log: (line) => lines.push(line) });
}

describe('Session.execAll', () => {
  it('without a host shell (a stand-in transport), runs each command on its own', async () => {
    const t = host(false, () => result('', 0));
    expect((await sessionOn(t).execAll(['a', 'b'])).map((r) => r.stdout.toString())).toEqual(['ran a', 'ran b']);
    expect(t.seen).toEqual(['a', 'b']);
  });

  it('a host without a usable temp directory: one by one, and --verbose says why', async () => {
    const t = host(true, (command) => result(command, BATCH_UNAVAILABLE, '', 'mktemp: No space left on device'));
    const lines: string[] = [];
    expect((await sessionOn(t, lines).execAll(['a', 'b'])).map((r) => r.stdout.toString())).toEqual(['ran a', 'ran b']);
    expect(t.seen.slice(1)).toEqual(['a', 'b']);
    expect(lines.join('\n')).toMatch(/\[1, 2\] could not run together \(no temp directory on the host: mktemp: No space left on device\); one by one/);
  });

  it('a batch the host answered: one remote command, each result framed back, each command shown', async () => {
    const frame = (code: number, out: string, err: string) => `@apply-ws-fix-batch ${code} ${out.length} ${err.length}\n${out}${err}`;
    const t = host(true, (command) => result(command, 0, frame(0, 'A', '') + frame(4, 'b', 'oops')));
    const lines: string[] = [];
    const results = await sessionOn(t, lines).execAll(['a', 'b']);
    expect(t.seen).toHaveLength(1);
    expect(results.map((r) => [r.command, r.code, r.stdout.toString(), r.stderr.toString()])).toEqual([
      ['a', 0, 'A', ''],
      ['b', 4, 'b', 'oops'],
    ]);
    expect(lines.filter((l) => /^\$ \[\d\] [ab]$/.test(l))).toEqual(['$ [1] a', '$ [2] b']);
    expect(lines).toContain('[2] exit 4, 5 ms (run together: [1] [2]):');
  });

  it('a connection lost during the batch is a lost connection, not a failed read', async () => {
    const t = host(true, () => 'lost');
    await expect(sessionOn(t).execAll(['a', 'b'])).rejects.toBeInstanceOf(ConnectionLostError);
  });
});
