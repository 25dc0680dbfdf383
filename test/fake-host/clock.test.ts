import { describe, expect, it } from 'vitest';
import { ManualClock, realClock } from '../../src/fake-host/host.js';

describe('ManualClock', () => {
  it('stands still until advanced, then wakes the sleeps that fell due, earliest first, each at its own instant', async () => {
    const clock = new ManualClock(1_000);
    const woke: Array<[string, number]> = [];
    const sleep = (name: string, ms: number): Promise<void> => clock.sleep(ms).then(() => void woke.push([name, clock.now()]));
    const all = [sleep('late', 300), sleep('first', 100), sleep('tie-a', 200), sleep('tie-b', 200), sleep('never', 501)];
    expect(clock.now()).toBe(1_000);
    await clock.advance(99);
    expect(woke).toEqual([]);
    expect(clock.pending).toBe(5);
    await clock.advance(401);
    expect(woke).toEqual([['first', 1_100], ['tie-a', 1_200], ['tie-b', 1_200], ['late', 1_300]]);
    expect(clock.now()).toBe(1_500);
    expect(clock.pending).toBe(1);
    await clock.advance(1);
    await Promise.all(all);
    expect(woke.at(-1)).toEqual(['never', 1_501]);
  });

  it('wakes, in the same advance, a sleep that woken work begins', async () => {
    const clock = new ManualClock(0);
    const steps: number[] = [];
    const chain = (async () => {
      await clock.sleep(10);
      steps.push(clock.now());
      await clock.sleep(10);
      steps.push(clock.now());
    })();
    await clock.advance(25);
    await chain;
    expect(steps).toEqual([10, 20]);
    expect(clock.now()).toBe(25);
  });

  it('tells when a sleep has begun, so a test can advance past a wait it cannot see', async () => {
    const clock = new ManualClock(0);
    const begun = clock.untilSleeping(2);
    let resolved = false;
    void begun.then(() => (resolved = true));
    void clock.sleep(5);
    await Promise.resolve();
    expect(resolved).toBe(false);
    void clock.sleep(0);
    await begun;
    await clock.advance(0);
    expect(clock.pending).toBe(1);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });
});

describe('realClock', () => {
  it('reads and waits on the wall clock', async () => {
    const before = Date.now();
    expect(realClock.now()).toBeGreaterThanOrEqual(before);
    await realClock.sleep(30);
    expect(Date.now() - before).toBeGreaterThanOrEqual(29);
  });
});
