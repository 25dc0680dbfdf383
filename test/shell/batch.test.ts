// Read-only commands folded into one remote command: each result comes back as if it ran alone (bytes, stderr, exit
// status), the commands really run side by side, and a host without a usable temp directory is told apart.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BATCH_UNAVAILABLE, batchCommand, splitBatch } from '../../src/shell/batch.js';
import type { ExecResult } from '../../src/transport/transport.js';

function sh(script: string, env: NodeJS.ProcessEnv = process.env): ExecResult {
  const r = spawnSync('/bin/sh', ['-c', script], { env, timeout: 20_000 });
  return { command: script, stdout: r.stdout, stderr: r.stderr, code: r.status, signal: r.signal, durationMs: 0 };
}

describe('batchCommand and splitBatch', () => {
  it('gives each command its own stdout, stderr and exit status, bytes unchanged', () => {
    const commands = [
      "printf 'one\\n'",
      "printf 'out'; printf 'err' >&2; exit 3",
      "printf '\\000\\377\\n\\n@apply-ws-fix-batch 0 0 0\\n'",
      'cd -- /nonexistent-dir-for-the-test && echo never',
      'exit 66',
      'head -c 300000 /dev/zero',
    ];
    const results = splitBatch(sh(batchCommand(commands)), commands);
    expect(results.map((r) => r.code)).toEqual([0, 3, 0, 2, 66, 0]);
    expect(results[0]!.stdout.toString()).toBe('one\n');
    expect([results[1]!.stdout.toString(), results[1]!.stderr.toString()]).toEqual(['out', 'err']);
    expect(results[2]!.stdout).toEqual(Buffer.from('\0\xff\n\n@apply-ws-fix-batch 0 0 0\n', 'latin1'));
    expect(results[3]!.stderr.toString()).toMatch(/nonexistent-dir-for-the-test/);
    expect(results[5]!.stdout.length).toBe(300_000);
    expect(results.map((r) => r.command)).toEqual(commands);
  });

  it('runs them side by side: each of two waits for a file the other makes', () => {
    const dir = sh('mktemp -d').stdout.toString().trim();
    const waitFor = (mine: string, theirs: string) => `: > ${dir}/${mine}; i=0; while [ ! -e ${dir}/${theirs} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 9; sleep 0.05; done; echo ${mine}`;
    const commands = [waitFor('a', 'b'), waitFor('b', 'a')];
    const results = splitBatch(sh(batchCommand(commands)), commands);
    sh(`rm -rf -- ${dir}`);
    expect(results.map((r) => [r.code, r.stdout.toString()])).toEqual([
      [0, 'a\n'],
      [0, 'b\n'],
    ]);
  });

  it('leaves no temp directory behind', () => {
    const tmp = sh('mktemp -d').stdout.toString().trim();
    sh(batchCommand(['echo a', 'echo b']), { ...process.env, TMPDIR: tmp });
    expect(sh(`ls -A ${tmp}`).stdout.toString()).toBe('');
    sh(`rm -rf -- ${tmp}`);
  });

  it(`exits ${BATCH_UNAVAILABLE} with nothing on stdout when it cannot make its temp directory (a full disk)`, () => {
    const result = sh(batchCommand(['echo a', 'echo b']), { ...process.env, TMPDIR: '/nonexistent-tmp-for-the-test' });
    expect(result.code).toBe(BATCH_UNAVAILABLE);
    expect(result.stdout.length).toBe(0);
  });

  it('a batch cut short: the commands it did not frame share its failure', () => {
    const commands = ['echo a', 'echo b'];
    const whole = sh(batchCommand(commands));
    const cut: ExecResult = { ...whole, stdout: whole.stdout.subarray(0, whole.stdout.length - 3), code: null };
    const results = splitBatch(cut, commands);
    expect(results[0]!).toMatchObject({ code: 0 });
    expect(results[1]!).toMatchObject({ code: null, command: 'echo b' });
    expect(results[1]!.stdout.length).toBe(0);
    const refused: ExecResult = { ...whole, stdout: Buffer.alloc(0), stderr: Buffer.from('fake host: this command was made to fail\n'), code: 1 };
    expect(splitBatch(refused, commands).map((r) => [r.code, r.stderr.toString()])).toEqual([
      [1, 'fake host: this command was made to fail\n'],
      [1, 'fake host: this command was made to fail\n'],
    ]);
  });
});
