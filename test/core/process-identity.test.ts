// Whether a lock's holder is alive, from this machine: by boot id, PID namespace and process start time, so a
// reused pid, a zombie or another namespace is never taken for the holder.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { activeRuns, holderState, whoAmI } from '../../src/core/process-identity.js';

const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

function holderFor(pid: number, overrides: Record<string, unknown> = {}) {
  const me = whoAmI();
  return { by: me.by, pid, bootId: me.bootId, pidNamespace: me.pidNamespace, startTime: startTimeOf(pid), runId: 'r', ...overrides };
}

describe('holderState', () => {
  it('a live process with the recorded start time is alive; the same pid with another start time is gone (reused)', () => {
    const child = spawn('sleep', ['30']);
    children.push(child.pid!);
    expect(holderState(holderFor(child.pid!))).toBe('alive');
    expect(holderState(holderFor(child.pid!, { startTime: '1' }))).toBe('gone');
  });

  it('a process that exited is gone; so is a zombie its parent has not reaped', async () => {
    const child = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child.pid!);
    const zombiePid = Number((await new Promise<Buffer>((resolve) => child.stdout.once('data', resolve))).toString().trim());
    const holder = holderFor(zombiePid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(`/proc/${zombiePid}/stat`, 'utf8')).toMatch(/\) Z /);
    expect(holderState(holder)).toBe('gone');
    expect(holderState({ ...holder, pid: 2 ** 22 + 1 })).toBe('gone');
  });

  it('another machine, another boot or another PID namespace cannot be judged: unknown', () => {
    const child = spawn('sleep', ['30']);
    children.push(child.pid!);
    expect(holderState(holderFor(child.pid!, { by: 'alice@laptop' }))).toBe('unknown');
    expect(holderState(holderFor(child.pid!, { bootId: 'another-boot' }))).toBe('unknown');
    expect(holderState(holderFor(child.pid!, { pidNamespace: 'pid:[1]' }))).toBe('unknown');
    expect(holderState({ by: whoAmI().by, pid: child.pid! })).toBe('unknown');
  });

  it('this very process holds the lock exactly while that run is active', () => {
    const me = { ...whoAmI(), runId: 'this-run' };
    expect(holderState(me)).toBe('gone');
    activeRuns.add('this-run');
    try {
      expect(holderState(me)).toBe('alive');
    } finally {
      activeRuns.delete('this-run');
    }
  });
});
