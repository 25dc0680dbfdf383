// The fake host's time: the wall clock by default, or a manual clock a test moves, so a crash window or a slow
// start ends exactly when the test says and never because the machine was busy.

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** Resolves once `ms` have passed on this clock. */
  sleep(ms: number): Promise<void>;
}

// Unref'd, so a pending `up` never keeps a closed fake host's process alive.
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

interface Sleeper {
  at: number;
  wake: () => void;
}

// A clock that moves only when told: advance(ms) wakes the sleeps that fall due, earliest first (ties in the order
// they began), each at its own instant, and lets the woken work run before time moves on.
export class ManualClock implements Clock {
  private current: number;
  private readonly sleepers: Sleeper[] = [];
  private readonly watchers: Array<{ count: number; resolve: () => void }> = [];

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ at: this.current + Math.max(0, ms), wake: resolve });
      for (const watcher of this.watchers.filter((w) => this.sleepers.length >= w.count)) {
        this.watchers.splice(this.watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    });
  }

  /** How many sleeps are waiting for time to pass. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Resolves once at least `count` sleeps are waiting: a command run over SSH has reached its wait. */
  untilSleeping(count = 1): Promise<void> {
    if (this.sleepers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ count, resolve }));
  }

  /** Moves time forward by `ms`, waking every sleep due by then in order; resolves when the woken work has run. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ${ms} is not a duration`);
    const target = this.current + ms;
    for (;;) {
      const next = this.sleepers.reduce<Sleeper | undefined>((a, s) => (a === undefined || s.at < a.at ? s : a), undefined);
      if (next === undefined || next.at > target) break;
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      this.current = next.at;
      next.wake();
      // Every continuation of the woken sleep (and what it starts without I/O) runs before time moves again.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.current = target;
  }
}
